from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.variable_spaces.schema.inputs import (
    CreateVariableSpaceInput,
    UpdateVariableSpaceInput,
    VariableInput,
    space_uuid,
)
from dspex_gql.variable_spaces.schema.types import VariableSpace

CreateVariableSpaceResult = Annotated[
    VariableSpace | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("CreateVariableSpaceResult"),
]
UpdateVariableSpaceResult = Annotated[
    VariableSpace | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("UpdateVariableSpaceResult"),
]
AddVariableResult = Annotated[
    VariableSpace | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("AddVariableResult"),
]
RemoveVariableResult = Annotated[
    VariableSpace | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("RemoveVariableResult"),
]
DeleteVariableSpaceResult = Annotated[
    VariableSpace | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeleteVariableSpaceResult"),
]


@strawberry.type
class VariableSpaceMutation:
    @strawberry.mutation
    async def create_variable_space(
        self, info: Info, input: CreateVariableSpaceInput
    ) -> CreateVariableSpaceResult:
        return VariableSpace.of(await info.context.services.variable_spaces.create(input.to_new()))

    @strawberry.mutation
    async def update_variable_space(
        self, info: Info, id: strawberry.ID, input: UpdateVariableSpaceInput
    ) -> UpdateVariableSpaceResult:
        service = info.context.services.variable_spaces
        return VariableSpace.of(await service.update(space_uuid(id), input.to_changes()))

    @strawberry.mutation
    async def add_variable(
        self, info: Info, variable_space_id: strawberry.ID, variable: VariableInput
    ) -> AddVariableResult:
        service = info.context.services.variable_spaces
        space = await service.add_variable(space_uuid(variable_space_id), variable.to_raw())
        return VariableSpace.of(space)

    @strawberry.mutation(description="Dependencies on or of the variable are removed with it.")
    async def remove_variable(
        self, info: Info, variable_space_id: strawberry.ID, name: str
    ) -> RemoveVariableResult:
        service = info.context.services.variable_spaces
        return VariableSpace.of(await service.remove_variable(space_uuid(variable_space_id), name))

    @strawberry.mutation(description="Refused while programs or optimization runs use it.")
    async def delete_variable_space(
        self, info: Info, id: strawberry.ID
    ) -> DeleteVariableSpaceResult:
        return VariableSpace.of(await info.context.services.variable_spaces.delete(space_uuid(id)))

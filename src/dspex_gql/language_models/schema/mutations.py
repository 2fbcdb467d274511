from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.language_models.schema.inputs import (
    CreateLanguageModelInput,
    UpdateLanguageModelInput,
    language_model_uuid,
)
from dspex_gql.language_models.schema.types import LanguageModel, LanguageModelCheck

CreateLanguageModelResult = Annotated[
    LanguageModel | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("CreateLanguageModelResult"),
]
UpdateLanguageModelResult = Annotated[
    LanguageModel | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateLanguageModelResult"),
]
DeleteLanguageModelResult = Annotated[
    LanguageModel | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeleteLanguageModelResult"),
]
TestLanguageModelResult = Annotated[
    LanguageModelCheck | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("TestLanguageModelResult"),
]


@strawberry.type
class LanguageModelMutation:
    @strawberry.mutation
    async def create_language_model(
        self, info: Info, input: CreateLanguageModelInput
    ) -> CreateLanguageModelResult:
        service = info.context.services.language_models
        return LanguageModel.of(await service.create(input.to_new()))

    @strawberry.mutation
    async def update_language_model(
        self, info: Info, id: strawberry.ID, input: UpdateLanguageModelInput
    ) -> UpdateLanguageModelResult:
        service = info.context.services.language_models
        return LanguageModel.of(await service.update(language_model_uuid(id), input.to_changes()))

    @strawberry.mutation(description="Refused while programs name it in their configuration.")
    async def delete_language_model(
        self, info: Info, id: strawberry.ID
    ) -> DeleteLanguageModelResult:
        service = info.context.services.language_models
        return LanguageModel.of(await service.delete(language_model_uuid(id)))

    @strawberry.mutation(description="One tiny call to the model (at most 30 s).")
    async def test_language_model(self, info: Info, id: strawberry.ID) -> TestLanguageModelResult:
        service = info.context.services.language_models
        return LanguageModelCheck.of(await service.test(language_model_uuid(id)))

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.graphql.filters import (
    DateTimeFilter,
    EnumFilter,
    IDFilter,
    Order,
    StringFilter,
    TagFilter,
    filter_field,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.policies import Visibility
from dspex_gql.programs.models import ProgramStatus
from dspex_gql.programs.service import NewProgram, ProgramChanges
from dspex_gql.signatures.schema import VisibilityFilter

if TYPE_CHECKING:
    pass


@strawberry.input(name="ProgramStatusFilter")
class ProgramStatusFilter(EnumFilter[ProgramStatus]):
    pass


@strawberry.input(name="ProgramTypeFilter")
class ProgramTypeFilter(EnumFilter[ProgramType]):
    pass


@strawberry.input(description="ARCHIVED programs are listed only when `status` is filtered on.")
class ProgramFilter:
    and_: list[ProgramFilter] | None = filter_field("and")
    or_: list[ProgramFilter] | None = filter_field("or")
    not_: ProgramFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    status: ProgramStatusFilter | None = filter_field()
    type: ProgramTypeFilter | None = filter_field()
    adapter: StringFilter | None = filter_field()
    visibility: VisibilityFilter | None = filter_field()
    tags: TagFilter | None = filter_field()
    signature_id: IDFilter | None = filter_field()
    parent_id: IDFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    updated_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class ProgramOrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(name="ProgramOrder")
class ProgramOrder(Order[ProgramOrderField]):
    pass


@strawberry.input(description="Give `signatureId`, or `signatureSpec` to find or create one.")
class CreateProgramInput:
    name: str
    type: ProgramType = ProgramType.PREDICT
    signature_id: strawberry.ID | None = None
    signature_spec: str | None = None
    description: str | None = None
    adapter: str = "mock"
    implementation: str | None = None
    configuration: JSON | None = strawberry.field(
        default=None, description="Adapter parameters; omitted or null means {}."
    )
    tags: list[str] = strawberry.field(default_factory=list)
    visibility: Visibility = Visibility.PRIVATE
    variable_space_id: strawberry.ID | None = None
    initialize: bool = False

    def to_new(self) -> NewProgram:
        signature_id = (
            None if self.signature_id is None else to_uuid(self.signature_id, "Signature")
        )
        space_id = self.variable_space_id
        return NewProgram(
            name=self.name,
            type=self.type,
            signature_id=signature_id,
            signature_spec=self.signature_spec,
            description=self.description,
            adapter=self.adapter,
            implementation=self.implementation,
            configuration={} if self.configuration is None else self.configuration,
            tags=tuple(self.tags),
            visibility=self.visibility,
            variable_space_id=None if space_id is None else to_uuid(space_id, "VariableSpace"),
            initialize=self.initialize,
        )


@strawberry.input(
    description="Changing type, adapter, implementation, configuration or signature "
    "returns the program to DRAFT: initialize it again."
)
class UpdateProgramInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    type: ProgramType | None = strawberry.UNSET
    adapter: str | None = strawberry.UNSET
    implementation: str | None = strawberry.UNSET
    configuration: JSON | None = strawberry.UNSET
    signature_id: strawberry.ID | None = strawberry.UNSET
    signature_spec: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET
    variable_space_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null detaches the variable space."
    )

    def to_changes(self) -> ProgramChanges:
        given: dict[str, Any] = provided(self)
        if given.get("signature_id") is not None:
            given["signature_id"] = to_uuid(given["signature_id"], "Signature")
        if given.get("variable_space_id") is not None:
            given["variable_space_id"] = to_uuid(given["variable_space_id"], "VariableSpace")
        return ProgramChanges(**given)


@strawberry.input(
    description='A program from DSPy\'s JSON state: what `module.save("x.json")` writes, e.g. a '
    "program compiled in a notebook. The state must fit the module built from the signature."
)
class ImportProgramInput(CreateProgramInput):
    state: JSON = strawberry.field(description="DSPy's JSON state (demos, instructions).")
    adapter: str = "dspy"

    def to_new(self) -> NewProgram:
        return dataclasses.replace(super().to_new(), compiled_state=self.state)

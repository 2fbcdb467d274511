from __future__ import annotations

import enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.engine.variables import VariableType
from dspex_gql.graphql.filters import DateTimeFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.policies import Visibility
from dspex_gql.signatures.schema import VisibilityFilter
from dspex_gql.variable_spaces.service import NewVariableSpace, VariableSpaceChanges


@strawberry.input
class VariableSpaceFilter:
    and_: list[VariableSpaceFilter] | None = filter_field("and")
    or_: list[VariableSpaceFilter] | None = filter_field("or")
    not_: VariableSpaceFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    visibility: VisibilityFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    updated_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class VariableSpaceOrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(name="VariableSpaceOrder")
class VariableSpaceOrder(Order[VariableSpaceOrderField]):
    pass


@strawberry.input(
    description="constraints: FLOAT/INTEGER {min, max, step?, log?}; CHOICE {choices}; "
    "MODULE {modules} (program types or registered module names); BOOLEAN none."
)
class VariableInput:
    name: str
    type: VariableType
    default: JSON | None = None
    description: str | None = None
    constraints: JSON | None = strawberry.field(
        default=None, description="Omitted or null means {}."
    )

    def to_raw(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "constraints": {} if self.constraints is None else self.constraints,
        }
        if self.default is not None:
            raw["default"] = self.default
        if self.description is not None:
            raw["description"] = self.description
        return raw


@strawberry.input(description="`variable` is active only when `dependsOn` has one of `values`.")
class VariableDependencyInput:
    variable: str
    depends_on: str
    values: list[JSON]

    def to_raw(self) -> dict[str, Any]:
        return {"variable": self.variable, "dependsOn": self.depends_on, "values": self.values}


@strawberry.input
class CreateVariableSpaceInput:
    name: str
    variables: list[VariableInput]
    description: str | None = None
    dependencies: list[VariableDependencyInput] = strawberry.field(default_factory=list)
    constraints: JSON | None = strawberry.field(
        default=None, description="Omitted or null means {}."
    )
    visibility: Visibility = Visibility.PRIVATE

    def to_new(self) -> NewVariableSpace:
        return NewVariableSpace(
            name=self.name,
            description=self.description,
            variables=[variable.to_raw() for variable in self.variables],
            dependencies=[dependency.to_raw() for dependency in self.dependencies],
            constraints={} if self.constraints is None else self.constraints,
            visibility=self.visibility,
        )


@strawberry.input(description="Variables and dependencies, when given, replace the old ones.")
class UpdateVariableSpaceInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    variables: list[VariableInput] | None = strawberry.UNSET
    dependencies: list[VariableDependencyInput] | None = strawberry.UNSET
    constraints: JSON | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET

    def to_changes(self) -> VariableSpaceChanges:
        given: dict[str, Any] = provided(self)
        for name in ("variables", "dependencies"):
            if given.get(name) is not None:
                given[name] = [item.to_raw() for item in given[name]]
        if "dependencies" in given and given["dependencies"] is None:
            given["dependencies"] = []
        return VariableSpaceChanges(**given)


def space_uuid(id: strawberry.ID) -> UUID:
    return to_uuid(id, "VariableSpace")

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.enums import Visibility
from dspex_gql.db.listing import Condition
from dspex_gql.engine.variables import Difficulty, SamplingStrategy, VariableType, measure
from dspex_gql.engine.variables import Variable as EngineVariable
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    field_errors,
)
from dspex_gql.graphql.filters import DateTimeFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.programs.schema import Program
from dspex_gql.signatures.schema import VisibilityFilter
from dspex_gql.variable_spaces import models
from dspex_gql.variable_spaces.service import (
    NewVariableSpace,
    VariableSpaceChanges,
    engine_space,
)

if TYPE_CHECKING:
    from dspex_gql.optimization_runs.schema import OptimizationRun

OptimizationRunType = Annotated[
    "OptimizationRun", strawberry.lazy("dspex_gql.optimization_runs.schema")
]

strawberry.enum(VariableType)
strawberry.enum(Difficulty, description="From the complexity score: <3, <8, <15, beyond.")
strawberry.enum(SamplingStrategy)


@strawberry.type
class VariableDefinition:
    name: str
    type: VariableType
    default: JSON | None
    description: str | None
    constraints: JSON = strawberry.field(
        description="{min, max, step, log} | {choices: [...]} | {modules: [...]}"
    )

    @classmethod
    def of(cls, variable: EngineVariable) -> VariableDefinition:
        return cls(
            name=variable.name,
            type=variable.type,
            default=JSON(variable.default),
            description=variable.description,
            constraints=JSON(variable.constraints()),
        )


@strawberry.type
class VariableSpace:
    id: strawberry.ID
    name: str
    description: str | None
    variables: list[VariableDefinition]
    dependencies: JSON = strawberry.field(
        description='[{"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}]: '
        "a variable is active only when each variable it depends on has one of the values."
    )
    constraints: JSON
    discrete_space_size: float = strawberry.field(
        description="Product of the discrete variables' cardinalities (capped at the float max)."
    )
    continuous_dimensions: int
    variable_count: int
    complexity_score: float = strawberry.field(
        description="log10(discreteSpaceSize) + 2 * continuousDimensions + 0.5 * dependencies."
    )
    optimization_difficulty: Difficulty
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    created_by: strawberry.Private[UUID | None]

    @strawberry.field
    async def program_count(self, info: Info) -> int:
        count: int = await info.context.loaders.variable_space_program_count.load(self.uuid)
        return count

    @strawberry.field
    async def programs(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[Program]:
        within = Condition("variable_space_id", "eq", self.uuid)
        request = list_request(info, None, None, first, after, within=within)
        return await connection(info.context.services.programs, request, Program.of)

    @strawberry.field
    async def optimization_runs(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[OptimizationRunType]:
        from dspex_gql.optimization_runs.schema import OptimizationRun

        within = Condition("variable_space_id", "eq", self.uuid)
        request = list_request(info, None, None, first, after, within=within)
        return await connection(info.context.services.optimizations, request, OptimizationRun.of)

    @strawberry.field(description="The user who created the space.")
    async def owner(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)

    @classmethod
    def of(cls, space: models.VariableSpace) -> VariableSpace:
        engine = engine_space(space)
        metrics = measure(engine)
        return cls(
            id=strawberry.ID(str(space.id)),
            name=space.name,
            description=space.description,
            variables=[VariableDefinition.of(variable) for variable in engine.variables],
            dependencies=JSON([dependency.to_json() for dependency in engine.dependencies]),
            constraints=JSON(space.constraints),
            discrete_space_size=metrics.discrete_space_size,
            continuous_dimensions=metrics.continuous_dimensions,
            variable_count=metrics.variable_count,
            complexity_score=metrics.complexity_score,
            optimization_difficulty=metrics.difficulty,
            visibility=space.visibility,
            created_at=space.created_at,
            updated_at=space.updated_at,
            created_by=space.created_by,
        )


@strawberry.type
class ConfigurationCheck:
    valid: bool
    field_errors: list[FieldError]


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


def _space_id(id: strawberry.ID) -> UUID:
    return to_uuid(id, "VariableSpace")


@strawberry.type
class VariableSpaceQuery:
    variable_space = field_by_id(VariableSpace, lambda services: services.variable_spaces)
    variable_spaces = list_field(
        VariableSpace,
        VariableSpaceFilter,
        VariableSpaceOrder,
        lambda services: services.variable_spaces,
    )

    @strawberry.field(description="Valid configurations of the space; reproducible with a seed.")
    async def generate_configurations(
        self,
        info: Info,
        variable_space_id: strawberry.ID,
        strategy: SamplingStrategy = SamplingStrategy.RANDOM,
        count: int = 1,
        seed: int | None = None,
    ) -> list[JSON]:
        service = info.context.services.variable_spaces
        found = await service.generate(_space_id(variable_space_id), strategy, count, seed)
        return [JSON(configuration) for configuration in found]

    @strawberry.field(description="Missing variables are fine: their defaults apply.")
    async def validate_configuration(
        self, info: Info, variable_space_id: strawberry.ID, configuration: JSON
    ) -> ConfigurationCheck:
        service = info.context.services.variable_spaces
        problems = await service.check_configuration(_space_id(variable_space_id), configuration)
        return ConfigurationCheck(valid=not problems, field_errors=field_errors(problems))


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
        return VariableSpace.of(await service.update(_space_id(id), input.to_changes()))

    @strawberry.mutation
    async def add_variable(
        self, info: Info, variable_space_id: strawberry.ID, variable: VariableInput
    ) -> AddVariableResult:
        service = info.context.services.variable_spaces
        space = await service.add_variable(_space_id(variable_space_id), variable.to_raw())
        return VariableSpace.of(space)

    @strawberry.mutation(description="Dependencies on or of the variable are removed with it.")
    async def remove_variable(
        self, info: Info, variable_space_id: strawberry.ID, name: str
    ) -> RemoveVariableResult:
        service = info.context.services.variable_spaces
        return VariableSpace.of(await service.remove_variable(_space_id(variable_space_id), name))

    @strawberry.mutation(description="Refused while programs or optimization runs use it.")
    async def delete_variable_space(
        self, info: Info, id: strawberry.ID
    ) -> DeleteVariableSpaceResult:
        return VariableSpace.of(await info.context.services.variable_spaces.delete(_space_id(id)))

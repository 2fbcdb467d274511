from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.listing import Condition
from dspex_gql.engine.variables import Difficulty, SamplingStrategy, VariableType, measure
from dspex_gql.engine.variables import Variable as EngineVariable
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import FieldError
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.policies import Visibility
from dspex_gql.programs.schema import Program
from dspex_gql.variable_spaces import models
from dspex_gql.variable_spaces.service import engine_space

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

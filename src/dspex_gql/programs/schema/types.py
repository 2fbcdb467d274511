from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.listing import Condition
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.executions.repository import ExecutionStats
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.lookups import Lookup
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.selections import ColumnsOf
from dspex_gql.policies import Visibility
from dspex_gql.programs import models, service
from dspex_gql.programs.models import ProgramStatus
from dspex_gql.signatures.schema import Signature

if TYPE_CHECKING:
    from dspex_gql.executions.schema import Execution, ExecutionFilter, ExecutionOrder
    from dspex_gql.optimization_runs.schema import OptimizationRun
    from dspex_gql.variable_spaces.schema import VariableSpace

strawberry.enum(ProgramType)
strawberry.enum(ProgramStatus)

ExecutionType = Annotated["Execution", strawberry.lazy("dspex_gql.executions.schema")]
ExecutionFilterType = Annotated["ExecutionFilter", strawberry.lazy("dspex_gql.executions.schema")]
ExecutionOrderType = Annotated["ExecutionOrder", strawberry.lazy("dspex_gql.executions.schema")]
VariableSpaceType = Annotated["VariableSpace", strawberry.lazy("dspex_gql.variable_spaces.schema")]
OptimizationRunType = Annotated[
    "OptimizationRun", strawberry.lazy("dspex_gql.optimization_runs.schema")
]


@strawberry.type
class ProgramStats:
    execution_count: int
    completed_count: int
    failed_count: int
    success_rate: float = strawberry.field(
        description="Completed among finished executions (completed + failed); 0 when none."
    )
    average_duration_ms: float | None = strawberry.field(description="Of completed executions.")
    total_cost: float
    total_tokens: int
    program_id: strawberry.Private[UUID]

    @strawberry.field(description="The best score any of its optimization runs reached.")
    async def best_score(self, info: Info) -> float | None:
        stats = await info.context.loaders.program_optimization_stats.load(self.program_id)
        return stats.best_score  # type: ignore[no-any-return]

    @strawberry.field(description="The mean of its optimization runs' best scores.")
    async def average_score(self, info: Info) -> float | None:
        stats = await info.context.loaders.program_optimization_stats.load(self.program_id)
        return stats.average_score  # type: ignore[no-any-return]

    @strawberry.field
    async def optimization_count(self, info: Info) -> int:
        stats = await info.context.loaders.program_optimization_stats.load(self.program_id)
        return stats.optimization_count  # type: ignore[no-any-return]

    @classmethod
    def of(cls, stats: ExecutionStats, program_id: UUID) -> ProgramStats:
        return cls(
            program_id=program_id,
            execution_count=stats.execution_count,
            completed_count=stats.completed_count,
            failed_count=stats.failed_count,
            success_rate=stats.success_rate,
            average_duration_ms=stats.average_duration_ms,
            total_cost=stats.total_cost,
            total_tokens=stats.total_tokens,
        )


def _variable_space(row: Any) -> VariableSpaceType:
    from dspex_gql.variable_spaces.schema import VariableSpace

    return VariableSpace.of(row)


SIGNATURE = Lookup("program_signature", "signature_id", Signature.of)
PARENT = Lookup("program", "parent_id", lambda row: Program.of(row))
VARIABLE_SPACE = Lookup("variable_space", "variable_space_id", _variable_space)


@strawberry.type
class Program:
    id: strawberry.ID
    name: str
    description: str | None
    type: ProgramType
    implementation: str | None = strawberry.field(
        description="The registered implementation a CUSTOM program runs."
    )
    adapter: str
    status: ProgramStatus
    error_message: str | None
    configuration: JSON
    compiled_state: JSON | None = strawberry.field(
        description="DSPy's JSON state (demos, instructions) compiled by a DSPy optimizer or "
        "imported; `dspy` programs run with it."
    )
    version: int
    performance_metrics: JSON
    tags: list[str]
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    signature_id: strawberry.Private[UUID]
    parent_id: strawberry.Private[UUID | None]
    variable_space_id: strawberry.Private[UUID | None]
    created_by: strawberry.Private[UUID | None]

    @strawberry.field(metadata=SIGNATURE.metadata)
    async def signature(self, info: Info) -> Signature:
        found: Signature = await SIGNATURE.resolve(self, info)
        return found

    @strawberry.field(metadata=PARENT.metadata)
    async def parent(self, info: Info) -> Program | None:
        found: Program | None = await PARENT.resolve(self, info)
        return found

    @strawberry.field
    async def children(self, info: Info) -> list[Program]:
        children = await info.context.loaders.program_children.load(self.uuid)
        return [Program.of(child) for child in children]

    @strawberry.field(description="The user who created the program.")
    async def owner(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @strawberry.field
    async def stats(self, info: Info) -> ProgramStats:
        stats = await info.context.loaders.program_stats.load(self.uuid)
        return ProgramStats.of(stats, self.uuid)

    @strawberry.field
    async def last_executed_at(self, info: Info) -> datetime | None:
        stats: ExecutionStats = await info.context.loaders.program_stats.load(self.uuid)
        return stats.last_executed_at

    @strawberry.field
    async def executions(
        self,
        info: Info,
        filter: ExecutionFilterType | None = None,
        order_by: list[ExecutionOrderType] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ExecutionType]:
        from dspex_gql.executions.schema import Execution

        within = Condition("program_id", "eq", self.uuid)
        request = list_request(info, filter, order_by, first, after, within=within)
        return await connection(info.context.services.executions, request, Execution.of)

    @strawberry.field(metadata=VARIABLE_SPACE.metadata)
    async def variable_space(self, info: Info) -> VariableSpaceType | None:
        found: VariableSpaceType | None = await VARIABLE_SPACE.resolve(self, info)
        return found

    @strawberry.field
    async def optimization_runs(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[OptimizationRunType]:
        from dspex_gql.optimization_runs.schema import OptimizationRun

        within = Condition("program_id", "eq", self.uuid)
        request = list_request(info, None, None, first, after, within=within)
        return await connection(info.context.services.optimizations, request, OptimizationRun.of)

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)

    @classmethod
    def of(cls, program: models.Program) -> Program:
        return cls(
            id=strawberry.ID(str(program.id)),
            name=program.name,
            description=program.description,
            type=program.type,
            implementation=program.implementation,
            adapter=program.adapter,
            status=program.status,
            error_message=program.error_message,
            configuration=JSON(program.configuration),
            compiled_state=JSON(program.compiled_state),
            version=program.version,
            performance_metrics=JSON(program.performance_metrics),
            tags=program.tags,
            visibility=program.visibility,
            created_at=program.created_at,
            updated_at=program.updated_at,
            signature_id=program.signature_id,
            parent_id=program.parent_id,
            variable_space_id=program.variable_space_id,
            created_by=program.created_by,
        )


PROGRAM_COLUMNS: ColumnsOf = {
    "id": ("id",),
    "name": ("name",),
    "description": ("description",),
    "type": ("type",),
    "implementation": ("implementation",),
    "adapter": ("adapter",),
    "status": ("status",),
    "errorMessage": ("error_message",),
    "configuration": ("configuration",),
    "compiledState": ("compiled_state",),
    "version": ("version",),
    "performanceMetrics": ("performance_metrics",),
    "tags": ("tags",),
    "visibility": ("visibility",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "signature": ("signature_id",),
    "parent": ("parent_id",),
    "children": ("id",),
    "owner": ("created_by",),
    "stats": ("id",),
    "lastExecutedAt": ("id",),
    "executions": ("id",),
    "variableSpace": ("variable_space_id",),
    "optimizationRuns": ("id",),
}
"""What each field of a Program is made from: `programs` reads only the columns of the fields
selected."""


@strawberry.type(description="A program as DSPy's JSON state, with the DSPy version it is for.")
class ProgramExport:
    program: Program
    state: JSON = strawberry.field(
        description='What `module.save("x.json")` writes: save it and `module.load` it.'
    )
    dspy_version: str

    @classmethod
    def of(cls, export: service.ProgramExport) -> ProgramExport:
        return cls(
            program=Program.of(export.program),
            state=JSON(export.state),
            dspy_version=export.dspy_version,
        )

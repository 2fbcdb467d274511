from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.base import utcnow
from dspex_gql.db.listing import Condition
from dspex_gql.engine.optimization import ConvergenceStatus, StrategyKind
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.lookups import Lookup
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.optimization_runs import models
from dspex_gql.optimization_runs.models import OptimizationStatus
from dspex_gql.optimization_runs.schema.evaluations import Evaluation, EvaluationOrder
from dspex_gql.optimization_runs.service import Importance
from dspex_gql.programs.schema import Program
from dspex_gql.variable_spaces.schema import VariableSpace

OptimizationStrategy = strawberry.enum(StrategyKind, name="OptimizationStrategy")
strawberry.enum(OptimizationStatus)
strawberry.enum(ConvergenceStatus)


@strawberry.enum
class ObjectiveName(enum.Enum):
    SCORE = "SCORE"
    COST = "COST"
    LATENCY = "LATENCY"


@strawberry.enum
class ObjectiveDirection(enum.Enum):
    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"


@strawberry.type
class Objective:
    name: ObjectiveName
    direction: ObjectiveDirection


@strawberry.type
class ParetoPoint:
    evaluation_id: strawberry.ID
    configuration: JSON
    objectives: JSON = strawberry.field(description='Keyed by objective: {"SCORE": 0.9, …}.')

    @classmethod
    def of(cls, point: dict[str, Any]) -> ParetoPoint:
        return cls(
            evaluation_id=strawberry.ID(point["evaluationId"]),
            configuration=JSON(point["configuration"]),
            objectives=JSON(point["objectives"]),
        )


@strawberry.type
class VariableImportance:
    variable: str
    importance: float = strawberry.field(description="Share of the score's variance; sums to 1.")

    @classmethod
    def of(cls, importance: Importance) -> VariableImportance:
        return cls(variable=importance.variable, importance=importance.importance)


PROGRAM = Lookup("program", "program_id", Program.of)
VARIABLE_SPACE = Lookup("variable_space", "variable_space_id", VariableSpace.of)


@strawberry.type
class OptimizationRun:
    id: strawberry.ID
    name: str
    strategy: StrategyKind
    status: OptimizationStatus
    sequence: int
    metric: str
    objectives: list[Objective]
    max_iterations: int
    iterations_completed: int
    best_score: float | None
    best_configuration: JSON | None
    best_program_state: JSON | None = strawberry.field(
        description="The best evaluation's compiled DSPy program state (DSPy optimizers only)."
    )
    convergence_score: float | None = strawberry.field(
        description="0 right after an improvement, 1 once `convergencePatience` iterations "
        "passed without one."
    )
    convergence_status: ConvergenceStatus
    pareto_frontier: list[ParetoPoint]
    results: JSON | None = strawberry.field(
        description="When finished: stopReason (max_iterations, max_cost, timeout, converged, "
        "grid_exhausted, compute_quota; DSPy's optimizers: compiled, max_lm_calls), evaluations, "
        "failedEvaluations, totalCost, bestIteration; DSPy's optimizers add baselineScore, "
        "compiledScore and lmCalls."
    )
    total_cost: float
    seed: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    program_id: strawberry.Private[UUID]
    variable_space_id: strawberry.Private[UUID]
    created_by: strawberry.Private[UUID | None]

    @strawberry.field
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.completed_at or utcnow()) - self.started_at).total_seconds()

    @strawberry.field
    def progress_percentage(self) -> float:
        if self.status == OptimizationStatus.COMPLETED:
            return 100.0
        return min(100.0, 100.0 * self.iterations_completed / self.max_iterations)

    @strawberry.field(description="At the current pace, when maxIterations would be reached.")
    def estimated_completion(self) -> datetime | None:
        if self.status.is_terminal or self.started_at is None or not self.iterations_completed:
            return None
        elapsed = utcnow() - self.started_at
        remaining = self.max_iterations - self.iterations_completed
        return utcnow() + elapsed / self.iterations_completed * remaining

    @strawberry.field(metadata=PROGRAM.metadata)
    async def program(self, info: Info) -> Program:
        found: Program = await PROGRAM.resolve(self, info)
        return found

    @strawberry.field(metadata=VARIABLE_SPACE.metadata)
    async def variable_space(self, info: Info) -> VariableSpace:
        found: VariableSpace = await VARIABLE_SPACE.resolve(self, info)
        return found

    @strawberry.field
    async def evaluation_count(self, info: Info) -> int:
        count, _ = await info.context.loaders.evaluation_counts.load(self.uuid)
        return int(count)

    @strawberry.field(description="Of successful evaluations.")
    async def average_score(self, info: Info) -> float | None:
        _, average = await info.context.loaders.evaluation_counts.load(self.uuid)
        return None if average is None else float(average)

    @strawberry.field
    async def evaluations(
        self,
        info: Info,
        order_by: list[EvaluationOrder] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Evaluation]:
        within = Condition("optimization_run_id", "eq", self.uuid)
        request = list_request(info, None, order_by, first, after, within=within)
        return await connection(info.context.services.evaluations, request, Evaluation.of)

    @strawberry.field(description="From this run's evaluations, with Optuna's PED-ANOVA.")
    async def variable_importance(self, info: Info) -> list[VariableImportance]:
        service = info.context.services.optimizations
        found = await service.importance(self.variable_space_id, [self.uuid])
        return [VariableImportance.of(item) for item in found]

    @strawberry.field(description="Who started the run.")
    async def triggered_by(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)

    @classmethod
    def of(cls, run: models.OptimizationRun) -> OptimizationRun:
        return cls(
            id=strawberry.ID(str(run.id)),
            name=run.name,
            strategy=run.strategy,
            status=run.status,
            sequence=run.sequence,
            metric=run.metric,
            objectives=[
                Objective(
                    name=ObjectiveName(o["name"]), direction=ObjectiveDirection(o["direction"])
                )
                for o in run.objectives
            ],
            max_iterations=run.max_iterations,
            iterations_completed=run.iterations_completed,
            best_score=run.best_score,
            best_configuration=JSON(run.best_configuration),
            best_program_state=JSON(run.best_program_state),
            convergence_score=run.convergence_score,
            convergence_status=run.convergence_status,
            pareto_frontier=[ParetoPoint.of(point) for point in run.pareto_frontier],
            results=JSON(run.results),
            total_cost=run.total_cost,
            seed=run.seed,
            error=run.error,
            created_at=run.created_at,
            started_at=run.started_at,
            completed_at=run.completed_at,
            program_id=run.program_id,
            variable_space_id=run.variable_space_id,
            created_by=run.created_by,
        )

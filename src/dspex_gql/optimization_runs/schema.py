from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.base import utcnow
from dspex_gql.db.listing import Condition
from dspex_gql.engine.optimization import ConvergenceStatus, StrategyKind
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from dspex_gql.graphql.filters import (
    DateTimeFilter,
    EnumFilter,
    FloatFilter,
    IDFilter,
    Order,
    StringFilter,
    filter_field,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.optimization_runs import models
from dspex_gql.optimization_runs.checks import StartOptimization
from dspex_gql.optimization_runs.models import OptimizationStatus
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


@strawberry.type
class Evaluation:
    id: strawberry.ID
    iteration: int
    configuration: JSON
    score: float | None
    cost: float
    latency_ms: float | None
    metrics: JSON
    status: str
    examples: list[int] | None = strawberry.field(
        description="Indices of the training examples evaluated (a SIMBA mini-batch); null: all."
    )
    example_scores: list[float]
    created_at: datetime

    @classmethod
    def of(cls, evaluation: models.Evaluation) -> Evaluation:
        return cls(
            id=strawberry.ID(str(evaluation.id)),
            iteration=evaluation.iteration,
            configuration=JSON(evaluation.configuration),
            score=evaluation.score,
            cost=evaluation.cost,
            latency_ms=evaluation.latency_ms,
            metrics=JSON(evaluation.metrics),
            status=evaluation.status,
            examples=evaluation.examples,
            example_scores=evaluation.example_scores,
            created_at=evaluation.created_at,
        )


@strawberry.enum
class EvaluationOrderField(enum.Enum):
    ITERATION = "ITERATION"
    SCORE = "SCORE"
    CREATED_AT = "CREATED_AT"


@strawberry.input(name="EvaluationOrder")
class EvaluationOrder(Order[EvaluationOrderField]):
    pass


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
    convergence_score: float | None = strawberry.field(
        description="0 right after an improvement, 1 once `convergencePatience` iterations "
        "passed without one."
    )
    convergence_status: ConvergenceStatus
    pareto_frontier: list[ParetoPoint]
    results: JSON | None = strawberry.field(
        description="When finished: stopReason (max_iterations, max_cost, timeout, converged, "
        "grid_exhausted, compute_quota), evaluations, failedEvaluations, totalCost, bestIteration."
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

    @strawberry.field
    async def program(self, info: Info) -> Program:
        return Program.of(await info.context.loaders.program.load(self.program_id))

    @strawberry.field
    async def variable_space(self, info: Info) -> VariableSpace:
        space = await info.context.loaders.variable_space.load(self.variable_space_id)
        return VariableSpace.of(space)

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


@strawberry.input(name="OptimizationStatusFilter")
class OptimizationStatusFilter(EnumFilter[OptimizationStatus]):
    pass


@strawberry.input(name="OptimizationStrategyFilter")
class OptimizationStrategyFilter(EnumFilter[StrategyKind]):
    pass


@strawberry.input
class OptimizationRunFilter:
    and_: list[OptimizationRunFilter] | None = filter_field("and")
    or_: list[OptimizationRunFilter] | None = filter_field("or")
    not_: OptimizationRunFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    status: OptimizationStatusFilter | None = filter_field()
    strategy: OptimizationStrategyFilter | None = filter_field()
    program_id: IDFilter | None = filter_field()
    variable_space_id: IDFilter | None = filter_field()
    best_score: FloatFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    completed_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class OptimizationRunOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    COMPLETED_AT = "COMPLETED_AT"
    BEST_SCORE = "BEST_SCORE"
    NAME = "NAME"


@strawberry.input(name="OptimizationRunOrder")
class OptimizationRunOrder(Order[OptimizationRunOrderField]):
    pass


@strawberry.input
class ObjectiveInput:
    name: ObjectiveName
    direction: ObjectiveDirection | None = strawberry.field(
        default=None, description="SCORE is maximized, COST and LATENCY minimized."
    )


@strawberry.input
class BudgetInput:
    max_cost: float | None = strawberry.field(
        default=None, description="Stop once evaluations have cost this much in all."
    )
    timeout_seconds: float | None = strawberry.field(
        default=None, description="Stop once the run has been running this long."
    )


@strawberry.input
class StartOptimizationInput:
    program_id: strawberry.ID
    name: str
    strategy: StrategyKind
    training_data: list[JSON] = strawberry.field(
        description='Examples {"inputs": {...}, "expected": {...}}.'
    )
    variable_space_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the program's variable space."
    )
    metric: str = "exact_match"
    objectives: list[ObjectiveInput] | None = strawberry.field(
        default=None, description="SCORE plus optionally COST and LATENCY; default SCORE alone."
    )
    max_iterations: int = 100
    budget: BudgetInput | None = None
    convergence_patience: int | None = strawberry.field(
        default=None, description="Stop after this many iterations without improvement."
    )
    seed: int | None = strawberry.field(
        default=None, description="Same seed, same run (one is drawn and shown when left out)."
    )
    concurrency: int | None = strawberry.field(
        default=None, description="Examples of one evaluation run at once."
    )
    strategy_options: JSON | None = strawberry.field(
        default=None,
        description="GRID_SEARCH {gridPoints}; BAYESIAN {startupTrials}; EVOLUTIONARY "
        "{populationSize}; SIMBA {batchSize, candidatesPerStep, mutationRate, initial}.",
    )

    def to_start(self) -> StartOptimization:
        space_id = self.variable_space_id
        objectives = self.objectives
        if objectives is None:
            objectives = [ObjectiveInput(name=ObjectiveName.SCORE)]
        budget = self.budget or BudgetInput()
        return StartOptimization(
            program_id=to_uuid(self.program_id, "Program"),
            variable_space_id=None if space_id is None else to_uuid(space_id, "VariableSpace"),
            name=self.name,
            strategy=self.strategy,
            training_data=self.training_data,
            metric=self.metric,
            objectives=[
                (o.name.value, None if o.direction is None else o.direction.value)
                for o in objectives
            ],
            max_iterations=self.max_iterations,
            max_cost=budget.max_cost,
            timeout_seconds=budget.timeout_seconds,
            patience=self.convergence_patience,
            seed=self.seed,
            concurrency=self.concurrency,
            strategy_options={} if self.strategy_options is None else self.strategy_options,
        )


StartOptimizationResult = Annotated[
    OptimizationRun
    | ValidationError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | QuotaExceededError,
    strawberry.union("StartOptimizationResult"),
]
CancelOptimizationResult = Annotated[
    OptimizationRun | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CancelOptimizationResult"),
]
ApplyBestConfigurationResult = Annotated[
    Program | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ApplyBestConfigurationResult"),
]


def _run_id(id: strawberry.ID) -> UUID:
    return to_uuid(id, "OptimizationRun")


@strawberry.type
class OptimizationQuery:
    optimization_run = field_by_id(OptimizationRun, lambda services: services.optimizations)
    optimization_runs = list_field(
        OptimizationRun,
        OptimizationRunFilter,
        OptimizationRunOrder,
        lambda services: services.optimizations,
    )

    @strawberry.field(description="From the evaluations of the given runs (default: all runs).")
    async def variable_importance(
        self,
        info: Info,
        variable_space_id: strawberry.ID,
        optimization_run_ids: list[strawberry.ID] | None = None,
    ) -> list[VariableImportance]:
        run_ids = (
            None if optimization_run_ids is None else [_run_id(i) for i in optimization_run_ids]
        )
        space_id = to_uuid(variable_space_id, "VariableSpace")
        found = await info.context.services.optimizations.importance(space_id, run_ids)
        return [VariableImportance.of(item) for item in found]


@strawberry.type
class OptimizationMutation:
    @strawberry.mutation(description="Returns a PENDING run at once; the program is OPTIMIZING.")
    async def start_optimization(
        self, info: Info, input: StartOptimizationInput
    ) -> StartOptimizationResult:
        run = await info.context.services.optimizations.start(input.to_start())
        return OptimizationRun.of(run)

    @strawberry.mutation
    async def cancel_optimization(self, info: Info, id: strawberry.ID) -> CancelOptimizationResult:
        return OptimizationRun.of(await info.context.services.optimizations.cancel(_run_id(id)))

    @strawberry.mutation(
        description="A new version of the program (its child, version + 1) with the best "
        "configuration merged into its configuration, initialized."
    )
    async def apply_best_configuration(
        self, info: Info, optimization_run_id: strawberry.ID
    ) -> ApplyBestConfigurationResult:
        services = info.context.services
        program = await services.optimizations.apply_best(_run_id(optimization_run_id))
        return Program.of(await services.programs.initialize(program.id))


@strawberry.type
class OptimizationSubscription:
    @strawberry.subscription(
        description="Now, then as it progresses (at most 10 messages a second); completes "
        "once it has finished."
    )
    async def optimization_progress(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[OptimizationRun, None]:
        async for run in info.context.services.optimizations.watch(_run_id(id)):
            yield OptimizationRun.of(run)

    @strawberry.subscription(description="The frontier now, then each time it changes.")
    async def pareto_frontier_updated(
        self, info: Info, optimization_run_id: strawberry.ID
    ) -> AsyncGenerator[list[ParetoPoint], None]:
        service = info.context.services.optimizations
        async for frontier in service.watch_frontier(_run_id(optimization_run_id)):
            yield [ParetoPoint.of(point) for point in frontier]

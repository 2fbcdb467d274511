from __future__ import annotations

import enum
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.engine.optimization import StrategyKind
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
from dspex_gql.optimization_runs.checks import StartOptimization
from dspex_gql.optimization_runs.models import OptimizationStatus
from dspex_gql.optimization_runs.schema.types import ObjectiveDirection, ObjectiveName


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


def run_uuid(id: strawberry.ID) -> UUID:
    return to_uuid(id, "OptimizationRun")

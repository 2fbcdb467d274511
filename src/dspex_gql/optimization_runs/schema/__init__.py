"""Optimization runs over GraphQL: types, inputs, queries, mutations, subscriptions."""

from __future__ import annotations

from dspex_gql.optimization_runs.schema.evaluations import (
    Evaluation,
    EvaluationOrder,
    EvaluationOrderField,
)
from dspex_gql.optimization_runs.schema.inputs import (
    BudgetInput,
    ObjectiveInput,
    OptimizationRunFilter,
    OptimizationRunOrder,
    OptimizationRunOrderField,
    OptimizationStatusFilter,
    OptimizationStrategyFilter,
    StartOptimizationInput,
    run_uuid,
)
from dspex_gql.optimization_runs.schema.mutations import (
    ApplyBestConfigurationResult,
    CancelOptimizationResult,
    OptimizationMutation,
    StartOptimizationResult,
)
from dspex_gql.optimization_runs.schema.queries import OptimizationQuery
from dspex_gql.optimization_runs.schema.subscriptions import OptimizationSubscription
from dspex_gql.optimization_runs.schema.types import (
    Objective,
    ObjectiveDirection,
    ObjectiveName,
    OptimizationRun,
    OptimizationStrategy,
    ParetoPoint,
    VariableImportance,
)

__all__ = [
    "ApplyBestConfigurationResult",
    "BudgetInput",
    "CancelOptimizationResult",
    "Evaluation",
    "EvaluationOrder",
    "EvaluationOrderField",
    "Objective",
    "ObjectiveDirection",
    "ObjectiveInput",
    "ObjectiveName",
    "OptimizationMutation",
    "OptimizationQuery",
    "OptimizationRun",
    "OptimizationRunFilter",
    "OptimizationRunOrder",
    "OptimizationRunOrderField",
    "OptimizationStatusFilter",
    "OptimizationStrategy",
    "OptimizationStrategyFilter",
    "OptimizationSubscription",
    "ParetoPoint",
    "StartOptimizationInput",
    "StartOptimizationResult",
    "VariableImportance",
    "run_uuid",
]

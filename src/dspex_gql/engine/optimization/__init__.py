"""Optimization: metrics, search strategies over a variable space, Pareto fronts, variable
importance and convergence. Pure (no I/O); Optuna is imported only when a BAYESIAN or
EVOLUTIONARY strategy is built or importance is computed."""

from dspex_gql.engine.optimization.base import (
    Candidate,
    Concludes,
    History,
    Objective,
    Outcome,
    Strategy,
    StrategyKind,
    StrategyOptionsInvalid,
)
from dspex_gql.engine.optimization.convergence import ConvergenceStatus, ConvergenceTracker
from dspex_gql.engine.optimization.importance import variable_importance
from dspex_gql.engine.optimization.pareto import Direction, ParetoFrontier, dominates, pareto_front
from dspex_gql.engine.optimization.scoring import (
    Metric,
    MetricRegistry,
    contains,
    exact_match,
    f1,
    json_equal,
    numeric,
)
from dspex_gql.engine.optimization.strategies import create_strategy

__all__ = [
    "Candidate",
    "Concludes",
    "ConvergenceStatus",
    "ConvergenceTracker",
    "Direction",
    "History",
    "Metric",
    "MetricRegistry",
    "Objective",
    "Outcome",
    "ParetoFrontier",
    "Strategy",
    "StrategyKind",
    "StrategyOptionsInvalid",
    "contains",
    "create_strategy",
    "dominates",
    "exact_match",
    "f1",
    "json_equal",
    "numeric",
    "pareto_front",
    "variable_importance",
]

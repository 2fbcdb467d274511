"""What `startOptimization` checks, all at once: every problem is reported in one error."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dspex_gql import validation
from dspex_gql.config import OptimizationSettings
from dspex_gql.engine.evaluation import ExamplesInvalid, parse_examples
from dspex_gql.engine.optimization import (
    MetricRegistry,
    Strategy,
    StrategyKind,
    StrategyOptionsInvalid,
)
from dspex_gql.engine.optimization.convergence import ConvergenceStatus
from dspex_gql.errors import FieldProblem, ValidationFailed
from dspex_gql.optimization_runs.models import OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import strategy_for
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.stored import engine_signature
from dspex_gql.variable_spaces.models import VariableSpace

DIRECTIONS = {"SCORE": "MAXIMIZE", "COST": "MINIMIZE", "LATENCY": "MINIMIZE"}


@dataclass(frozen=True)
class StartOptimization:
    program_id: UUID
    name: str
    strategy: StrategyKind
    training_data: Any
    variable_space_id: UUID | None = None
    metric: str = "exact_match"
    objectives: Sequence[tuple[str, str | None]] = (("SCORE", None),)
    """(name, direction); a direction left out is the natural one for the name."""
    max_iterations: int = 100
    max_cost: float | None = None
    timeout_seconds: float | None = None
    patience: int | None = None
    seed: int | None = None
    concurrency: int | None = None
    strategy_options: Any = field(default_factory=dict)


def checked_run(
    start: StartOptimization,
    space: VariableSpace,
    signature: Signature,
    metrics: MetricRegistry,
    settings: OptimizationSettings,
) -> tuple[OptimizationRun, Strategy | None]:
    """A PENDING run for `start` and the strategy it runs with (built once, here), or
    ValidationFailed listing every problem with it."""
    objectives, problems = _objectives(start.objectives)
    problems = _scalar_problems(start, settings, metrics) + problems
    size = validation.json_size(
        "trainingData", start.training_data, max_bytes=settings.max_training_bytes
    )
    problems += size or _example_problems(start.training_data, signature, settings)
    run = OptimizationRun(
        name=start.name.strip(),
        strategy=start.strategy,
        status=OptimizationStatus.PENDING,
        sequence=1,
        metric=start.metric,
        objectives=objectives,
        max_iterations=start.max_iterations,
        max_cost=start.max_cost,
        timeout_seconds=start.timeout_seconds,
        patience=start.patience,
        seed=secrets.randbits(31) if start.seed is None else start.seed,
        concurrency=start.concurrency
        or min(settings.default_concurrency, settings.max_concurrency),
        strategy_options=start.strategy_options,
        space={"variables": space.variables, "dependencies": space.dependencies},
        training_data=start.training_data,
        iterations_completed=0,
        convergence_status=ConvergenceStatus.NOT_STARTED,
        pareto_frontier=[],
        total_cost=0.0,
    )
    strategy: Strategy | None = None
    if objectives and isinstance(start.strategy_options, dict):
        strategy, strategy_problems = _strategy(run)
        problems += strategy_problems
    if problems:
        raise ValidationFailed(problems)
    return run, strategy


def _example_problems(
    training_data: Any, signature: Signature, settings: OptimizationSettings
) -> list[FieldProblem]:
    try:
        parse_examples(
            training_data, engine_signature(signature), limit=settings.max_training_examples
        )
    except ExamplesInvalid as invalid:
        return list(invalid.problems)
    return []


def _scalar_problems(
    start: StartOptimization, settings: OptimizationSettings, metrics: MetricRegistry
) -> list[FieldProblem]:
    problems = validation.text("name", start.name, max_length=200, required=True)
    if start.metric not in metrics:
        available = ", ".join(metrics.names())
        message = f"unknown metric '{start.metric}'; available: {available}"
        problems.append(FieldProblem("metric", message, "unknown"))
    ranges: list[tuple[str, float | None, float, float]] = [
        ("maxIterations", start.max_iterations, 1, settings.max_iterations),
        ("budget.maxCost", start.max_cost, 0, float("inf")),
        ("budget.timeoutSeconds", start.timeout_seconds, 0.001, float("inf")),
        ("convergencePatience", start.patience, 1, settings.max_iterations),
        ("concurrency", start.concurrency, 1, settings.max_concurrency),
    ]
    for name, value, low, high in ranges:
        if value is not None and not low <= value <= high:
            bounds = (
                f"at least {low:g}" if high == float("inf") else f"between {low:g} and {high:g}"
            )
            problems.append(FieldProblem(name, f"must be {bounds}", "out_of_range"))
    problems += validation.seed("seed", start.seed)
    if not isinstance(start.strategy_options, dict):
        problems.append(FieldProblem("strategyOptions", "must be a JSON object", "type"))
    return problems


def _objectives(
    given: Sequence[tuple[str, str | None]],
) -> tuple[list[dict[str, str]], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    names = [name for name, _ in given]
    if not given or "SCORE" not in names:
        problems.append(FieldProblem("objectives", "must include SCORE", "required"))
    if len(set(names)) != len(names):
        problems.append(FieldProblem("objectives", "each objective at most once", "duplicate"))
    for index, (name, direction) in enumerate(given):
        natural = DIRECTIONS[name]
        if direction not in (None, natural):
            message = f"{name} is always {natural.lower()}d"
            problems.append(FieldProblem(f"objectives[{index}].direction", message, "invalid"))
    ordered = sorted(dict.fromkeys(names), key=lambda name: name != "SCORE")
    return [{"name": name, "direction": DIRECTIONS[name]} for name in ordered], problems


def _strategy(run: OptimizationRun) -> tuple[Strategy | None, list[FieldProblem]]:
    try:
        return strategy_for(run), []
    except StrategyOptionsInvalid as invalid:
        return None, list(invalid.problems)

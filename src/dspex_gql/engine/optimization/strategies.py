"""Build a search strategy from its kind and options, fresh or resumed from stored evaluations.

    strategy = create_strategy(StrategyKind.BAYESIAN, space, [Objective("score")], seed=7,
                               example_count=40, options={"startupTrials": 5})
    # after a restart: the same arguments plus the told candidates, in order
    strategy = create_strategy(..., history=[(candidate, outcome), ...])

Options per kind (anything else is reported as unknown):

- RANDOM: none. GRID_SEARCH: `gridPoints` (values per numeric variable, default 5).
- BAYESIAN: `startupTrials` (random trials before TPE takes over, default 10).
- EVOLUTIONARY: `populationSize` (NSGA-II, used with several objectives, default 20).
- SIMBA: `batchSize` (default min(8, example count)), `candidatesPerStep` (default 4),
  `mutationRate` (numeric step as a fraction of the range, default 0.25), `initial` (a
  configuration to start from; missing variables are drawn at random).

Optuna is imported only when a BAYESIAN or EVOLUTIONARY strategy is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dspex_gql.engine.optimization.base import (
    OPTIONS_FIELD,
    History,
    Objective,
    OptionReader,
    Strategy,
    StrategyKind,
    StrategyOptionsInvalid,
    resolve_seed,
)
from dspex_gql.engine.optimization.simba import Simba, SimbaSettings
from dspex_gql.engine.optimization.simple import GridSearch, RandomSearch
from dspex_gql.engine.variables.configurations import validate_configuration
from dspex_gql.engine.variables.model import SearchSpace
from dspex_gql.errors import FieldProblem

MAX_GRID_POINTS = 100
MAX_STARTUP_TRIALS = 10_000
MAX_POPULATION_SIZE = 10_000
MAX_CANDIDATES_PER_STEP = 64


@dataclass(frozen=True)
class _Request:
    space: SearchSpace
    objectives: tuple[Objective, ...]
    seed: int
    example_count: int
    options: Mapping[str, Any]


def create_strategy(
    kind: StrategyKind | str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    *,
    seed: int | None,
    example_count: int,
    options: Mapping[str, Any] | None = None,
    history: History = (),
) -> Strategy:
    """A strategy ready to ask; with `history` (the told candidates of an interrupted run, in
    order) it continues from them. Raises StrategyOptionsInvalid for bad or unknown options."""
    if not objectives:
        raise ValueError("at least one objective is required")
    if StrategyKind(kind).compiles:
        raise ValueError(f"{kind} compiles a DSPy program (dspy_compile), it asks no candidates")
    request = _Request(space, tuple(objectives), resolve_seed(seed), example_count, options or {})
    strategy = _BUILDERS[StrategyKind(kind)](request)
    if history:
        strategy.replay(history)
    return strategy


def _random(request: _Request) -> Strategy:
    OptionReader(request.options, known=()).check()
    return RandomSearch(request.space, seed=request.seed)


def _grid(request: _Request) -> Strategy:
    reader = OptionReader(request.options, known=("gridPoints",))
    points = reader.integer("gridPoints", default=5, low=2, high=MAX_GRID_POINTS)
    reader.check()
    return GridSearch(request.space, points=points)


def _bayesian(request: _Request) -> Strategy:
    reader = OptionReader(request.options, known=("startupTrials",))
    startup = reader.integer("startupTrials", default=10, low=0, high=MAX_STARTUP_TRIALS)
    reader.check()
    from dspex_gql.engine.optimization.optuna_search import OptunaSearch, tpe_sampler

    sampler = tpe_sampler(request.space, seed=request.seed, startup_trials=startup)
    return OptunaSearch(request.space, request.objectives, sampler, seed=request.seed)


def _evolutionary(request: _Request) -> Strategy:
    reader = OptionReader(request.options, known=("populationSize",))
    population = reader.integer("populationSize", default=20, low=2, high=MAX_POPULATION_SIZE)
    reader.check()
    from dspex_gql.engine.optimization.optuna_search import OptunaSearch, evolutionary_sampler

    count = len(request.objectives)
    sampler = evolutionary_sampler(count, seed=request.seed, population_size=population)
    return OptunaSearch(request.space, request.objectives, sampler, seed=request.seed)


def _simba(request: _Request) -> Strategy:
    known = ("batchSize", "candidatesPerStep", "mutationRate", "initial")
    reader = OptionReader(request.options, known=known)
    examples = request.example_count
    if examples < 1:
        raise StrategyOptionsInvalid([FieldProblem("strategy", "SIMBA needs training examples")])
    settings = SimbaSettings(
        example_count=examples,
        batch_size=reader.integer("batchSize", default=min(8, examples), low=1, high=examples),
        candidates_per_step=reader.integer(
            "candidatesPerStep", default=4, low=1, high=MAX_CANDIDATES_PER_STEP
        ),
        mutation_rate=reader.number("mutationRate", default=0.25, low=1e-6, high=1.0),
        direction=request.objectives[0].direction,
        initial=_initial(request.space, request.options.get("initial"), reader),
    )
    reader.check()
    return Simba(request.space, settings, seed=request.seed)


def _initial(space: SearchSpace, initial: Any, reader: OptionReader) -> Mapping[str, Any] | None:
    if initial is None:
        return None
    problems = validate_configuration(space, initial)
    prefix = f"{OPTIONS_FIELD}.initial"
    reader.problems.extend(
        FieldProblem(
            problem.field.replace("configuration", prefix, 1), problem.message, problem.code
        )
        for problem in problems
    )
    return None if problems else dict(initial)


_BUILDERS: Mapping[StrategyKind, Callable[[_Request], Strategy]] = {
    StrategyKind.RANDOM: _random,
    StrategyKind.GRID_SEARCH: _grid,
    StrategyKind.BAYESIAN: _bayesian,
    StrategyKind.EVOLUTIONARY: _evolutionary,
    StrategyKind.SIMBA: _simba,
}

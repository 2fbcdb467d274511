from __future__ import annotations

from statistics import fmean
from typing import Any

import pytest

from dspex_gql.engine.optimization import Candidate, Objective, Outcome, StrategyKind
from dspex_gql.engine.optimization.pareto import Direction
from dspex_gql.engine.optimization.simba import Simba, SimbaSettings
from dspex_gql.engine.variables.model import (
    Choices,
    FloatRange,
    IntRange,
    SearchSpace,
    Variable,
    VariableType,
)
from tests.support.strategies import assert_valid, make

SPACE = SearchSpace(
    variables=(
        Variable("x", VariableType.FLOAT, FloatRange(0.0, 1.0)),
        Variable("y", VariableType.INTEGER, IntRange(0, 10)),
        Variable("style", VariableType.CHOICE, Choices(("terse", "verbose", "bullet"))),
    )
)
EXAMPLES = 30
WEIGHTS = [0.5 + 1.5 * ((7 * i) % EXAMPLES) / EXAMPLES for i in range(EXAMPLES)]


def example_score(configuration: dict[str, Any], example: int) -> float:
    """Best at x = 0.8, y = 3, style = verbose; heavier examples punish distance more."""
    distance = abs(configuration["x"] - 0.8) * WEIGHTS[example] + 0.05 * abs(configuration["y"] - 3)
    bonus = 0.1 if configuration["style"] == "verbose" else 0.0
    return float(min(1.0, max(0.0, 0.9 - distance + bonus)))


def full_score(configuration: dict[str, Any]) -> float:
    return fmean(example_score(configuration, example) for example in range(EXAMPLES))


def evaluate(candidate: Candidate) -> Outcome:
    assert candidate.examples is not None
    scores = tuple(example_score(candidate.configuration, i) for i in candidate.examples)
    return Outcome((fmean(scores),), scores)


def simba(**options: Any) -> Simba:
    strategy = make(
        StrategyKind.SIMBA, space=SPACE, options=options, example_count=EXAMPLES, seed=3
    )
    assert isinstance(strategy, Simba)
    return strategy


def test_steps_ask_the_incumbent_then_perturbations_on_one_batch() -> None:
    strategy = simba(batchSize=6, candidatesPerStep=3)
    for _ in range(5):
        step = [strategy.ask() for _ in range(4)]
        batch = step[0].examples
        assert batch is not None
        assert len(batch) == 6
        assert len(set(batch)) == 6
        assert list(batch) == sorted(batch)
        assert all(0 <= i < EXAMPLES for i in batch)
        assert all(candidate.examples == batch for candidate in step)
        assert step[0].configuration == strategy.incumbent
        for candidate in step[1:]:
            assert_valid(SPACE, candidate.configuration)
            changed = [
                k for k in SPACE.names if candidate.configuration[k] != strategy.incumbent[k]
            ]
            assert 1 <= len(changed) <= 2
        for candidate in step:
            strategy.tell(candidate, evaluate(candidate))


def test_default_batch_size_is_at_most_eight() -> None:
    candidate = simba().ask()
    assert candidate.examples is not None
    assert len(candidate.examples) == 8
    small = make(StrategyKind.SIMBA, space=SPACE, example_count=3).ask()
    assert small is not None
    assert small.examples == (0, 1, 2)


def test_simba_climbs_from_a_bad_start() -> None:
    strategy = simba(initial={"x": 0.1, "y": 9, "style": "terse"}, batchSize=6)
    start = full_score(strategy.incumbent)
    for _ in range(80):
        candidate = strategy.ask()
        strategy.tell(candidate, evaluate(candidate))
    assert strategy.steps_taken == 16
    assert start < 0.1
    assert full_score(strategy.incumbent) > 0.8


def test_initial_configuration_is_completed_at_random() -> None:
    strategy = simba(initial={"x": 0.25})
    assert strategy.incumbent["x"] == 0.25
    assert set(strategy.incumbent) == {"x", "y", "style"}


def scripted_step(strategy: Simba, outcomes: list[Outcome]) -> list[Candidate]:
    step = [strategy.ask() for _ in outcomes]
    for candidate, outcome in zip(step, outcomes, strict=True):
        strategy.tell(candidate, outcome)
    return step


def test_a_candidate_must_beat_the_incumbent_on_the_hardest_examples() -> None:
    strategy = simba(batchSize=4, candidatesPerStep=4)
    # hardest examples: positions 3 (0.1) and 0 (0.2); incumbent means 0.15 there, 0.5 overall
    step = scripted_step(
        strategy,
        [
            Outcome((0.5,), (0.2, 0.9, 0.8, 0.1)),
            Outcome((0.45,), (0.6, 0.5, 0.2, 0.5)),  # harder ones better, batch worse
            Outcome((0.6,), (0.3, 0.9, 0.9, 0.3)),  # better on both
            Outcome(None),  # failed
            Outcome((0.55,), (0.5, 0.7, 0.7, 0.3)),  # the best on the hardest, batch better
        ],
    )
    assert strategy.incumbent == step[4].configuration


def test_ties_on_the_hardest_examples_keep_the_incumbent() -> None:
    strategy = simba(batchSize=2, candidatesPerStep=2)
    incumbent = dict(strategy.incumbent)
    scripted_step(
        strategy,
        [Outcome((0.5,), (0.4, 0.6)), Outcome((0.9,), (0.4, 1.0)), Outcome(None)],
    )
    assert strategy.incumbent == incumbent


def test_a_failed_incumbent_gives_way_to_the_best_candidate() -> None:
    strategy = simba(batchSize=2, candidatesPerStep=3)
    step = scripted_step(
        strategy,
        [Outcome(None), Outcome((0.2,), (0.2, 0.2)), Outcome((0.7,), (0.7, 0.7)), Outcome(None)],
    )
    assert strategy.incumbent == step[2].configuration


def test_failures_only_never_move_the_incumbent() -> None:
    strategy = simba(candidatesPerStep=2)
    incumbent = dict(strategy.incumbent)
    scripted_step(strategy, [Outcome(None)] * 3)
    assert strategy.incumbent == incumbent


def test_minimizing_first_objective_without_example_scores() -> None:
    strategy = make(
        StrategyKind.SIMBA,
        space=SPACE,
        objectives=(Objective("cost", Direction.MINIMIZE), Objective("score")),
        options={"candidatesPerStep": 2},
        example_count=EXAMPLES,
    )
    assert isinstance(strategy, Simba)
    step = scripted_step(strategy, [Outcome((5.0, 0.0)), Outcome((6.0, 1.0)), Outcome((4.0, 0.0))])
    assert strategy.incumbent == step[2].configuration


def test_outcomes_of_an_abandoned_step_are_ignored() -> None:
    strategy = simba(candidatesPerStep=1)
    first = [strategy.ask(), strategy.ask()]
    strategy.tell(first[0], Outcome(None))
    later = strategy.ask()  # starts the next step without the first one settled
    assert later.number == 2
    strategy.tell(first[1], Outcome((1.0,), (1.0,) * 8))
    assert strategy.incumbent == first[0].configuration


@pytest.mark.parametrize("k", [3, 7])
def test_replay_restores_the_incumbent(k: int) -> None:
    uninterrupted = simba(batchSize=4, candidatesPerStep=2)
    history = []
    for _ in range(k):
        candidate = uninterrupted.ask()
        outcome = evaluate(candidate)
        uninterrupted.tell(candidate, outcome)
        history.append((candidate, outcome))
    resumed = simba(batchSize=4, candidatesPerStep=2)
    resumed.replay(history)
    assert resumed.incumbent == uninterrupted.incumbent
    assert resumed.ask() == uninterrupted.ask()


def test_a_run_concludes_with_the_incumbent_on_every_example() -> None:
    simba = Simba(SPACE, SimbaSettings(example_count=6, batch_size=2), seed=3)
    asked = [simba.ask() for _ in range(3)]
    final = simba.conclude()
    assert final.examples is None
    assert final.configuration == simba.incumbent
    assert final.number == asked[-1].number + 1

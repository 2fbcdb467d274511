from __future__ import annotations

import json
import math
from typing import Any

import pytest

from dspex_gql.engine.optimization import (
    Candidate,
    Outcome,
    StrategyKind,
    StrategyOptionsInvalid,
)
from dspex_gql.engine.variables.model import (
    SearchSpace,
)
from dspex_gql.engine.variables.sampling import iterate_grid
from tests.support.strategies import (
    EXAMPLES,
    SPACE,
    assert_valid,
    make,
    run,
    told,
    toy_outcome,
)

KINDS = [kind for kind in StrategyKind if not kind.compiles]
"""The search strategies; DSPy's optimizers compile instead (tests/engine/test_dspy_compile.py)."""
SEEDED_KINDS = [kind for kind in KINDS if kind is not StrategyKind.GRID_SEARCH]


@pytest.mark.parametrize("kind", KINDS)
def test_candidates_are_valid_and_numbered_in_ask_order(kind: StrategyKind) -> None:
    asked = run(make(kind), 40)
    assert [candidate.number for candidate in asked] == list(range(len(asked)))
    for candidate in asked:
        assert_valid(SPACE, candidate.configuration)
    retrievers = {json.dumps(candidate.configuration["retriever"]) for candidate in asked}
    assert len(retrievers) > 1


def test_random_search_covers_the_domains() -> None:
    asked = run(make(StrategyKind.RANDOM), 400)
    values = [candidate.configuration for candidate in asked]
    retrievers = [v["retriever"] for v in values]
    assert any(r is True for r in retrievers)
    assert any(r == 1 and r is not True for r in retrievers)
    assert [1, 2] in retrievers
    assert {v["top_k"] for v in values if "top_k" in v} == {1, 4, 7, 10, 13, 16, 19}
    rates = [v["learning_rate"] for v in values]
    assert sum(rate < 1e-2 for rate in rates) > len(rates) / 2  # log-uniform: 2/3 below 1e-2
    depths = [v["depth"] for v in values]
    assert min(depths) == 1
    assert sum(depth <= 8 for depth in depths) > len(depths) / 3
    assert any("rerank_depth" in v for v in values)
    assert all(("rerank_depth" in v) == (v.get("rerank") is True) for v in values)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_the_same_candidates(kind: StrategyKind) -> None:
    first = run(make(kind, seed=42), 25)
    second = run(make(kind, seed=42), 25)
    assert first == second


@pytest.mark.parametrize("kind", SEEDED_KINDS)
def test_different_seeds_give_different_candidates(kind: StrategyKind) -> None:
    first = run(make(kind, seed=1), 12)
    second = run(make(kind, seed=2), 12)
    assert [c.configuration for c in first] != [c.configuration for c in second]


def test_random_candidate_n_is_independent_of_history() -> None:
    alone = make(StrategyKind.RANDOM, seed=5, history=told(run(make(StrategyKind.RANDOM), 7)))
    assert alone.ask() == run(make(StrategyKind.RANDOM, seed=5), 8)[7]


@pytest.mark.parametrize("points", [2, 3])
def test_grid_walks_every_point_then_returns_none(points: int) -> None:
    strategy = make(StrategyKind.GRID_SEARCH, options={"gridPoints": points})
    expected = list(iterate_grid(SPACE, points=points))
    asked = run(strategy, len(expected) + 10)
    assert [candidate.configuration for candidate in asked] == expected
    assert strategy.ask() is None
    assert strategy.ask() is None


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        (StrategyKind.RANDOM, {}),
        (StrategyKind.GRID_SEARCH, {"gridPoints": 2}),
        (StrategyKind.SIMBA, {"batchSize": 5, "candidatesPerStep": 3}),
    ],
)
@pytest.mark.parametrize("k", [0, 1, 5, 9])
def test_resumed_strategy_continues_exactly_like_an_uninterrupted_run(
    kind: StrategyKind, options: dict[str, Any], k: int
) -> None:
    uninterrupted = run(make(kind, options=options), 24)
    resumed = make(kind, options=options, history=told(uninterrupted[:k]))
    continued = run(resumed, 24 - k)
    assert [candidate.number for candidate in continued] == list(range(k, 24))
    assert continued == uninterrupted[k:]


def test_grid_resume_after_the_end_is_exhausted() -> None:
    options = {"gridPoints": 2}
    everything = run(make(StrategyKind.GRID_SEARCH, options=options), 10_000)
    resumed = make(StrategyKind.GRID_SEARCH, options=options, history=told(everything))
    assert resumed.ask() is None


@pytest.mark.parametrize("kind", KINDS)
def test_failures_are_tolerated(kind: StrategyKind) -> None:
    def flaky(candidate: Candidate) -> Outcome:
        if candidate.number % 3 == 0:
            return Outcome(None)
        if candidate.number % 3 == 1:
            return Outcome((math.nan,))
        return toy_outcome(candidate)

    asked = run(make(kind), 30, flaky)
    assert len(asked) == 30
    for candidate in asked:
        assert_valid(SPACE, candidate.configuration)


def test_an_empty_space_yields_empty_configurations() -> None:
    empty = SearchSpace(variables=())
    for kind in KINDS:
        asked = run(make(kind, space=empty), 3)
        assert all(candidate.configuration == {} for candidate in asked)
    assert len(run(make(StrategyKind.GRID_SEARCH, space=empty), 3)) == 1


def problems(kind: StrategyKind, options: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(StrategyOptionsInvalid) as caught:
        make(kind, options=options, **kwargs)
    return {problem.field: problem.message for problem in caught.value.problems}


def test_unknown_options_are_reported_with_their_path() -> None:
    found = problems(StrategyKind.RANDOM, {"gridPoints": 3})
    assert found == {"strategyOptions.gridPoints": "unknown option; known options: none"}
    found = problems(StrategyKind.BAYESIAN, {"populationSize": 3, "startupTrials": 3})
    assert list(found) == ["strategyOptions.populationSize"]
    assert "startupTrials" in found["strategyOptions.populationSize"]


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        (StrategyKind.GRID_SEARCH, {"gridPoints": 1}, "gridPoints"),
        (StrategyKind.GRID_SEARCH, {"gridPoints": "5"}, "gridPoints"),
        (StrategyKind.GRID_SEARCH, {"gridPoints": True}, "gridPoints"),
        (StrategyKind.GRID_SEARCH, {"gridPoints": 2.5}, "gridPoints"),
        (StrategyKind.BAYESIAN, {"startupTrials": -1}, "startupTrials"),
        (StrategyKind.EVOLUTIONARY, {"populationSize": 1}, "populationSize"),
        (StrategyKind.SIMBA, {"batchSize": EXAMPLES + 1}, "batchSize"),
        (StrategyKind.SIMBA, {"candidatesPerStep": 0}, "candidatesPerStep"),
        (StrategyKind.SIMBA, {"mutationRate": 0}, "mutationRate"),
        (StrategyKind.SIMBA, {"mutationRate": "high"}, "mutationRate"),
        (StrategyKind.SIMBA, {"initial": {"temperature": 9.0}}, "initial.temperature"),
        (StrategyKind.SIMBA, {"initial": {"nope": 1}}, "initial.nope"),
        (StrategyKind.SIMBA, {"initial": [1]}, "initial"),
    ],
)
def test_bad_options_are_reported_with_their_path(
    kind: StrategyKind, options: dict[str, Any], field: str
) -> None:
    assert list(problems(kind, options)) == [f"strategyOptions.{field}"]


def test_every_bad_option_is_reported_at_once() -> None:
    found = problems(StrategyKind.SIMBA, {"batchSize": 0, "mutationRate": 2, "other": 1})
    assert set(found) == {
        "strategyOptions.other",
        "strategyOptions.batchSize",
        "strategyOptions.mutationRate",
    }
    assert found["strategyOptions.batchSize"] == f"must be an integer between 1 and {EXAMPLES}"


def test_simba_needs_training_examples() -> None:
    assert list(problems(StrategyKind.SIMBA, {}, example_count=0)) == ["strategy"]


def test_at_least_one_objective_is_required() -> None:
    with pytest.raises(ValueError, match="objective"):
        make(StrategyKind.RANDOM, objectives=())


def test_a_seed_of_none_is_drawn_at_random() -> None:
    first = run(make(StrategyKind.RANDOM, seed=None), 5)
    second = run(make(StrategyKind.RANDOM, seed=None), 5)
    assert first != second


def test_dspy_optimizers_are_not_search_strategies() -> None:
    with pytest.raises(ValueError, match="compiles a DSPy program"):
        make(StrategyKind.DSPY_MIPRO_V2)

from __future__ import annotations

import math
from statistics import fmean
from typing import Any

import pytest
from optuna.samplers import CmaEsSampler, NSGAIISampler, TPESampler
from optuna.trial import TrialState

from dspex_gql.engine.optimization import Candidate, Objective, Outcome, StrategyKind
from dspex_gql.engine.optimization.optuna_search import OptunaSearch
from dspex_gql.engine.optimization.pareto import Direction
from dspex_gql.engine.variables.model import (
    Choices,
    FloatRange,
    IntRange,
    SearchSpace,
    Variable,
    VariableType,
)
from tests.support.strategies import SPACE, make, run, told, toy_outcome

SMOOTH = SearchSpace(
    variables=(
        Variable("x", VariableType.FLOAT, FloatRange(-5.0, 5.0)),
        Variable("y", VariableType.FLOAT, FloatRange(-5.0, 5.0)),
        Variable("z", VariableType.INTEGER, IntRange(0, 20)),
    )
)
TWO = (Objective("score"), Objective("cost", Direction.MINIMIZE))


def smooth(configuration: dict[str, Any]) -> float:
    x, y, z = configuration["x"], configuration["y"], configuration["z"]
    return float(-((x - 1.3) ** 2) - (y + 0.7) ** 2 - 0.05 * (z - 13) ** 2)


def best_found(kind: StrategyKind, seed: int, budget: int = 40) -> float:
    strategy = make(kind, space=SMOOTH, seed=seed)
    asked = run(strategy, budget, lambda c: Outcome((smooth(c.configuration),)))
    return max(smooth(candidate.configuration) for candidate in asked)


def optuna_search(kind: StrategyKind, **kwargs: Any) -> OptunaSearch:
    strategy = make(kind, **kwargs)
    assert isinstance(strategy, OptunaSearch)
    return strategy


@pytest.mark.parametrize("kind", [StrategyKind.BAYESIAN, StrategyKind.EVOLUTIONARY])
def test_model_based_search_beats_random_search_on_a_smooth_objective(kind: StrategyKind) -> None:
    seeds = range(4)
    random_search = fmean(best_found(StrategyKind.RANDOM, seed) for seed in seeds)
    guided = fmean(best_found(kind, seed) for seed in seeds)
    assert guided > random_search


def test_samplers_follow_kind_and_objective_count() -> None:
    bayesian = optuna_search(StrategyKind.BAYESIAN, options={"startupTrials": 3})
    assert isinstance(bayesian.sampler, TPESampler)
    assert isinstance(optuna_search(StrategyKind.EVOLUTIONARY).sampler, CmaEsSampler)
    nsga = optuna_search(StrategyKind.EVOLUTIONARY, objectives=TWO, options={"populationSize": 6})
    assert isinstance(nsga.sampler, NSGAIISampler)
    assert nsga.sampler.population_size == 6


@pytest.mark.parametrize("kind", [StrategyKind.BAYESIAN, StrategyKind.EVOLUTIONARY])
def test_several_objectives(kind: StrategyKind) -> None:
    strategy = optuna_search(kind, objectives=TWO, options={})

    def two_values(candidate: Candidate) -> Outcome:
        score = toy_outcome(candidate).values
        assert score is not None
        return Outcome((score[0], float(candidate.configuration["threshold"])))

    asked = run(strategy, 30, two_values)
    assert len(asked) == 30
    assert [d.name for d in strategy.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert len(strategy.study.best_trials) >= 1


def test_wrong_number_of_values_is_an_error() -> None:
    strategy = optuna_search(StrategyKind.BAYESIAN)
    candidate = strategy.ask()
    with pytest.raises(ValueError, match="expected 1 objective values, got 2"):
        strategy.tell(candidate, Outcome((1.0, 2.0)))


def test_failures_are_recorded_as_failed_trials() -> None:
    strategy = optuna_search(StrategyKind.BAYESIAN)
    first, second, third = strategy.ask(), strategy.ask(), strategy.ask()
    strategy.tell(first, Outcome(None))
    strategy.tell(second, Outcome((math.inf,)))
    strategy.tell(third, Outcome((0.5,)))
    states = [trial.state for trial in strategy.study.trials]
    assert states == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]


def test_choices_keep_their_json_types() -> None:
    space = SearchSpace(
        variables=(
            Variable("c", VariableType.CHOICE, Choices((1, True, "1", [1, 2], {"k": None}, None))),
        )
    )
    for kind in (StrategyKind.BAYESIAN, StrategyKind.EVOLUTIONARY):
        asked = run(make(kind, space=space, options={}), 60, lambda c: Outcome((0.0,)))
        values = [candidate.configuration["c"] for candidate in asked]
        assert any(value is True for value in values)
        assert any(type(value) is int for value in values)
        assert {repr(value) for value in values} <= {
            "1",
            "True",
            "'1'",
            "[1, 2]",
            "{'k': None}",
            "None",
        }


@pytest.mark.parametrize(
    ("kind", "objectives"),
    [
        (StrategyKind.BAYESIAN, (Objective("score"),)),
        (StrategyKind.BAYESIAN, TWO),
        (StrategyKind.EVOLUTIONARY, (Objective("score"),)),
        (StrategyKind.EVOLUTIONARY, TWO),
    ],
)
def test_resume_rebuilds_the_study_from_history(
    kind: StrategyKind, objectives: tuple[Objective, ...]
) -> None:
    def evaluate(candidate: Candidate) -> Outcome:
        if candidate.number == 4:
            return Outcome(None)
        score = toy_outcome(candidate).values
        assert score is not None
        return Outcome((score[0], 1.0)[: len(objectives)])

    options = {"populationSize": 4} if kind is StrategyKind.EVOLUTIONARY else {}
    asked = run(make(kind, objectives=objectives, options=options), 12, evaluate)
    history = [(candidate, evaluate(candidate)) for candidate in asked]
    resumed = optuna_search(kind, objectives=objectives, options=options, history=history)

    trials = resumed.study.trials
    assert len(trials) == 12
    assert [trial.state for trial in trials].count(TrialState.FAIL) == 1
    for trial, (candidate, _) in zip(trials, history, strict=True):
        assert set(trial.params) == set(candidate.configuration)
    continued = run(resumed, 5, evaluate)
    assert [candidate.number for candidate in continued] == [12, 13, 14, 15, 16]
    assert len(resumed.study.trials) == 17


def test_resumed_bayesian_search_is_past_its_startup_trials() -> None:
    history = told(run(make(StrategyKind.RANDOM), 20))
    resumed = optuna_search(StrategyKind.BAYESIAN, options={"startupTrials": 10}, history=history)
    sampler = resumed.sampler
    assert isinstance(sampler, TPESampler)
    complete = resumed.study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 20
    best_retrievers = {trial.params["retriever"] for trial in complete}
    assert best_retrievers  # parameters are stored as choice indices
    assert best_retrievers <= set(range(5))


def test_resumed_cma_es_continues_its_generations() -> None:
    def outcome(candidate: Candidate) -> Outcome:
        return Outcome((smooth(candidate.configuration),))

    uninterrupted = optuna_search(StrategyKind.EVOLUTIONARY, space=SMOOTH)
    asked = run(uninterrupted, 24, outcome)
    history = [(candidate, outcome(candidate)) for candidate in asked]
    resumed = optuna_search(StrategyKind.EVOLUTIONARY, space=SMOOTH, history=history)
    uninterrupted.ask()
    resumed.ask()
    generation = resumed.study.trials[-1].system_attrs["cma:generation"]
    assert generation == uninterrupted.study.trials[-1].system_attrs["cma:generation"]
    assert generation >= 2


def test_resumed_nsga_ii_continues_its_generations() -> None:
    options = {"populationSize": 4}
    asked = run(make(StrategyKind.EVOLUTIONARY, objectives=TWO, options=options), 10, _two)
    resumed = optuna_search(
        StrategyKind.EVOLUTIONARY,
        objectives=TWO,
        options=options,
        history=[(candidate, _two(candidate)) for candidate in asked],
    )
    resumed.ask()
    assert resumed.study.trials[-1].system_attrs["NSGAIISampler:generation"] == 2


def _two(candidate: Candidate) -> Outcome:
    score = toy_outcome(candidate).values
    assert score is not None
    return Outcome((score[0], float(candidate.configuration["threshold"])))


def test_telling_an_unknown_candidate_adds_it_as_a_finished_trial() -> None:
    strategy = optuna_search(StrategyKind.BAYESIAN)
    stranger = run(make(StrategyKind.RANDOM, space=SPACE, seed=9), 1)[0]
    strategy.tell(Candidate(7, stranger.configuration), Outcome((0.3,)))
    assert len(strategy.study.trials) == 1
    assert strategy.ask().number == 8

"""BAYESIAN (TPE) and EVOLUTIONARY (CMA-ES, or NSGA-II for several objectives) strategies.

Both drive an in-memory Optuna study through ask-and-tell. Resuming rebuilds the study from the
history: TPE reads completed trials directly, so they are added as they are; CMA-ES and NSGA-II
keep their state (generations, the CMA distribution) in trial attributes written while asking,
so their history is re-asked with its parameters fixed and told again, which restores it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import optuna
from optuna.samplers import BaseSampler, CmaEsSampler, NSGAIISampler, RandomSampler, TPESampler
from optuna.trial import TrialState

from dspex_gql.engine.optimization.base import (
    Candidate,
    History,
    Objective,
    Outcome,
    next_number,
)
from dspex_gql.engine.optimization.optuna_space import (
    frozen_trial,
    parameters,
    suggest_configuration,
)
from dspex_gql.engine.optimization.pareto import Direction
from dspex_gql.engine.variables.model import SearchSpace


def tpe_sampler(space: SearchSpace, *, seed: int, startup_trials: int) -> TPESampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return TPESampler(
            seed=seed,
            multivariate=True,
            group=bool(space.dependencies),
            n_startup_trials=startup_trials,
            constant_liar=False,
        )


def evolutionary_sampler(objectives: int, *, seed: int, population_size: int) -> BaseSampler:
    if objectives > 1:
        return NSGAIISampler(seed=seed, population_size=population_size)
    return CmaEsSampler(
        seed=seed,
        independent_sampler=RandomSampler(seed=seed),
        warn_independent_sampling=False,
    )


class OptunaSearch:
    def __init__(
        self,
        space: SearchSpace,
        objectives: Sequence[Objective],
        sampler: BaseSampler,
        *,
        seed: int,
    ) -> None:
        self.space = space
        self.objectives = tuple(objectives)
        self.seed = seed
        self.study = optuna.create_study(
            sampler=sampler, directions=[_direction(o.direction) for o in self.objectives]
        )
        self._pending: dict[int, optuna.Trial] = {}
        self._next = 0

    @property
    def sampler(self) -> BaseSampler:
        return self.study.sampler

    def ask(self) -> Candidate:
        trial = self.study.ask()
        configuration = suggest_configuration(self.space, trial)
        number = self._next
        self._next += 1
        self._pending[number] = trial
        return Candidate(number, configuration)

    def tell(self, candidate: Candidate, outcome: Outcome) -> None:
        """Tell an asked candidate's outcome; an unknown candidate is added as a finished trial."""
        values = self._values(outcome)
        trial = self._pending.pop(candidate.number, None)
        if trial is None:
            self.study.add_trial(frozen_trial(self.space, candidate.configuration, values))
            self._next = max(self._next, candidate.number + 1)
        else:
            self._finish(trial, values)

    def replay(self, history: History) -> None:
        """Rebuild the study from evaluations told before a restart; asking continues after them."""
        if isinstance(self.sampler, TPESampler | RandomSampler):
            trials = [
                frozen_trial(self.space, candidate.configuration, self._values(outcome))
                for candidate, outcome in history
            ]
            self.study.add_trials(trials)
        else:
            for candidate, outcome in history:
                self._retell(candidate, outcome)
        self._next = max(self._next, next_number(history))

    def _retell(self, candidate: Candidate, outcome: Outcome) -> None:
        params, _ = parameters(self.space, candidate.configuration)
        self.study.enqueue_trial(params, skip_if_exists=False)
        trial = self.study.ask()
        _ = trial.relative_params  # fixed parameters skip it, but it records the sampler state
        suggest_configuration(self.space, trial)
        self._finish(trial, self._values(outcome))

    def _finish(self, trial: optuna.Trial, values: tuple[float, ...] | None) -> None:
        if values is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, list(values))

    def _values(self, outcome: Outcome) -> tuple[float, ...] | None:
        """The outcome's values, or None for a failure (also for NaN or infinite values)."""
        if outcome.values is None:
            return None
        if len(outcome.values) != len(self.objectives):
            message = f"expected {len(self.objectives)} objective values, got {len(outcome.values)}"
            raise ValueError(message)
        return outcome.values if all(math.isfinite(v) for v in outcome.values) else None


def _direction(direction: Direction) -> Literal["maximize", "minimize"]:
    return "maximize" if direction is Direction.MAXIMIZE else "minimize"

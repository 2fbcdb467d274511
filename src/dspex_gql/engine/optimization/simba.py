"""SIMBA: stochastic mini-batch ascent from an incumbent configuration (our own, not DSPy's).

Each step draws a mini-batch of training examples and asks, all on that batch, first the
incumbent and then `candidates_per_step` perturbations of it (one or two active variables
changed). Once the step's outcomes are all told, the *hardest examples* are the lower half (at
least one) of the batch by the incumbent's example scores. A candidate replaces the incumbent
when its mean score on the hardest examples is strictly higher and its batch value is not worse;
the best such candidate wins. Failed outcomes never win; a failed incumbent is replaced by the
candidate with the best batch value.

The batch value is `values[0]`, compared in the first objective's direction (with several
objectives the others are ignored); example scores are metric scores, higher is better. Without
example scores (or with the wrong count) from the incumbent, the hardest-example comparison uses
the batch value; a candidate without them while the incumbent has them cannot win.

`conclude()` gives the incumbent on all examples, for a run's last evaluation.

The loop is sequential: asking past the end of a step whose outcomes are not all told starts
the next step from the current incumbent, and late outcomes of the abandoned step are ignored.
Step k draws from `numpy.random.default_rng([seed, 2, k])`, so replaying the history (`replay`)
restores the exact state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

import numpy as np

from dspex_gql.engine.optimization.base import Candidate, History, Outcome, next_number
from dspex_gql.engine.optimization.pareto import Direction
from dspex_gql.engine.optimization.random_space import perturb, sample_configuration
from dspex_gql.engine.variables.model import SearchSpace

_INITIAL_STREAM, _STEP_STREAM = 1, 2


@dataclass
class _Step:
    batch: tuple[int, ...]
    configurations: list[dict[str, Any]]
    first_number: int
    asked: int = 0
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    def slot(self, number: int) -> int | None:
        index = number - self.first_number
        return index if 0 <= index < self.asked else None

    @property
    def settled(self) -> bool:
        return len(self.outcomes) == len(self.configurations)


@dataclass(frozen=True)
class SimbaSettings:
    example_count: int
    batch_size: int
    candidates_per_step: int = 4
    mutation_rate: float = 0.25
    """Standard deviation of a numeric change, as a fraction of the variable's range."""
    direction: Direction = Direction.MAXIMIZE
    initial: Mapping[str, Any] | None = None


class Simba:
    def __init__(self, space: SearchSpace, settings: SimbaSettings, *, seed: int) -> None:
        self.space = space
        self.settings = settings
        self.seed = seed
        rng = np.random.default_rng([seed, _INITIAL_STREAM])
        self.incumbent = sample_configuration(space, rng, settings.initial)
        self.steps_taken = 0
        self._step: _Step | None = None
        self._next = 0

    def ask(self) -> Candidate:
        step = self._step
        if step is None or step.asked == len(step.configurations):
            step = self._step = self._new_step()
        configuration = step.configurations[step.asked]
        step.asked += 1
        number = self._next
        self._next += 1
        return Candidate(number, dict(configuration), step.batch)

    def tell(self, candidate: Candidate, outcome: Outcome) -> None:
        step = self._step
        slot = None if step is None else step.slot(candidate.number)
        if step is None or slot is None:
            return
        step.configurations[slot] = dict(candidate.configuration)
        step.outcomes[slot] = outcome
        if step.settled:
            self._settle(step)
            self._step = None

    def conclude(self) -> Candidate:
        """The incumbent on every example: mini-batch scores of different batches don't compare,
        so a run's last evaluation scores the configuration SIMBA settled on on all of them."""
        number = self._next
        self._next += 1
        return Candidate(number, dict(self.incumbent), None)

    def replay(self, history: History) -> None:
        """Restore the state reached after `history` by asking and telling it again in order."""
        for candidate, outcome in history:
            if candidate.examples is None:
                continue  # a conclusion: it changes nothing
            asked = self.ask()
            self.tell(replace(candidate, number=asked.number), outcome)
        self._next = max(self._next, next_number(history))

    def _new_step(self) -> _Step:
        rng = np.random.default_rng([self.seed, _STEP_STREAM, self.steps_taken])
        self.steps_taken += 1
        size = self.settings.batch_size
        batch = tuple(
            sorted(int(i) for i in rng.choice(self.settings.example_count, size, replace=False))
        )
        scale = self.settings.mutation_rate
        variants = [
            perturb(self.space, self.incumbent, rng, scale)
            for _ in range(self.settings.candidates_per_step)
        ]
        return _Step(batch, [dict(self.incumbent), *variants], self._next)

    def _settle(self, step: _Step) -> None:
        outcomes = [step.outcomes[slot] for slot in range(len(step.configurations))]
        winner = self._winner(outcomes)
        if winner is not None:
            self.incumbent = dict(step.configurations[winner])

    def _winner(self, outcomes: Sequence[Outcome]) -> int | None:
        incumbent, rivals = outcomes[0], list(enumerate(outcomes))[1:]
        contenders = [(slot, o) for slot, o in rivals if o.values is not None]
        if not contenders:
            return None
        if incumbent.values is None:
            return max(contenders, key=lambda pair: self._batch_value(pair[1]))[0]
        hardest = self._hardest(incumbent)
        baseline = (self._hard_mean(incumbent, hardest), self._batch_value(incumbent))
        better = [
            (self._hard_mean(outcome, hardest), self._batch_value(outcome), slot)
            for slot, outcome in contenders
            if self._hard_mean(outcome, hardest) > baseline[0]
            and self._batch_value(outcome) >= baseline[1]
        ]
        return max(better, key=lambda entry: (entry[0], entry[1], -entry[2]))[2] if better else None

    def _hardest(self, incumbent: Outcome) -> tuple[int, ...] | None:
        """Positions in the batch of the incumbent's lowest-scoring half (None: no scores)."""
        scores = incumbent.example_scores
        if len(scores) != self.settings.batch_size:
            return None
        order = sorted(range(len(scores)), key=lambda position: scores[position])
        return tuple(order[: max(1, len(scores) // 2)])

    def _hard_mean(self, outcome: Outcome, hardest: tuple[int, ...] | None) -> float:
        scores = outcome.example_scores
        if hardest is None:
            return self._batch_value(outcome)
        if len(scores) != self.settings.batch_size:
            return -math.inf  # not comparable with the incumbent's example scores
        return fmean(scores[position] for position in hardest)

    def _batch_value(self, outcome: Outcome) -> float:
        assert outcome.values is not None
        return self.settings.direction.signed(outcome.values[0])

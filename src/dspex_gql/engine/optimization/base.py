"""What every search strategy shares: candidates, outcomes, objectives and option checking.

The optimization loop is sequential: ask one candidate, evaluate it, tell its outcome, repeat.

    candidate = strategy.ask()        # None: nothing left to try
    strategy.tell(candidate, Outcome(values=(0.82,), example_scores=(1.0, 0.5, ...)))
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from dspex_gql.engine.optimization.pareto import Direction
from dspex_gql.errors import FieldProblem

OPTIONS_FIELD = "strategyOptions"


@dataclass(frozen=True)
class Candidate:
    number: int
    """0, 1, 2 … in ask order; a resumed strategy continues after its history."""
    configuration: dict[str, Any]
    """Only the active variables, as plain JSON values."""
    examples: tuple[int, ...] | None = None
    """Indices of the training examples to evaluate on; None for all of them."""


@dataclass(frozen=True)
class Outcome:
    values: tuple[float, ...] | None
    """One value per objective, in objective order; None when the evaluation failed."""
    example_scores: tuple[float, ...] = ()
    """The metric score (higher is better) per evaluated example, in `examples` order."""

    @property
    def failed(self) -> bool:
        return self.values is None


History = Sequence[tuple[Candidate, Outcome]]


class Strategy(Protocol):
    def ask(self) -> Candidate | None: ...

    def tell(self, candidate: Candidate, outcome: Outcome) -> None: ...

    def replay(self, history: History) -> None:
        """Restore the state reached after `history` (the told candidates of an interrupted
        run, in order); numbering continues after them."""
        ...


@runtime_checkable
class Concludes(Protocol):
    """A strategy whose candidates see parts of the data (SIMBA's mini-batches) ends a run by
    evaluating what it settled on on all of it."""

    def conclude(self) -> Candidate: ...


@dataclass(frozen=True)
class Objective:
    name: str
    direction: Direction = Direction.MAXIMIZE


class StrategyKind(StrEnum):
    RANDOM = "RANDOM"
    GRID_SEARCH = "GRID_SEARCH"
    BAYESIAN = "BAYESIAN"
    EVOLUTIONARY = "EVOLUTIONARY"
    SIMBA = "SIMBA"
    DSPY_BOOTSTRAP_FEW_SHOT = "DSPY_BOOTSTRAP_FEW_SHOT"
    DSPY_MIPRO_V2 = "DSPY_MIPRO_V2"
    DSPY_SIMBA = "DSPY_SIMBA"
    DSPY_GEPA = "DSPY_GEPA"

    @property
    def compiles(self) -> bool:
        """DSPy's own optimizers: they compile a `dspy` program (demos, instructions) instead of
        searching a variable space one candidate at a time."""
        return self.name.startswith("DSPY_")


class StrategyOptionsInvalid(Exception):
    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(f"{problem.field}: {problem.message}" for problem in self.problems)
        super().__init__(f"Invalid strategy options: {details}")


SEED_MODULUS = 2**32
"""Optuna's samplers take seeds below 2**32."""


def resolve_seed(seed: int | None) -> int:
    """The seed modulo 2**32, or a fresh random one when None (then the run is not repeatable)."""
    return secrets.randbits(32) if seed is None else seed % SEED_MODULUS


def next_number(history: History) -> int:
    """The number of the first candidate asked after `history`."""
    return max((candidate.number for candidate, _ in history), default=-1) + 1


class OptionReader:
    """Reads a strategy's options, collecting problems instead of failing on the first one.

    reader = OptionReader(options, known=("gridPoints",))
    points = reader.integer("gridPoints", default=5, low=1, high=100)
    reader.check()  # raises StrategyOptionsInvalid listing every problem
    """

    def __init__(self, options: Mapping[str, Any], known: Iterable[str]) -> None:
        self.options = options
        known = tuple(known)
        listed = ", ".join(known) or "none"
        self.problems = [
            _problem(key, f"unknown option; known options: {listed}", "unknown")
            for key in options
            if key not in known
        ]

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(_problem(key, f"must be an integer between {low} and {high}"))
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.options.get(key, default)
        valid = isinstance(value, int | float) and not isinstance(value, bool)
        if not valid or not low <= value <= high:
            self.problems.append(_problem(key, f"must be a number between {low} and {high}"))
            return default
        return float(value)

    def add(self, key: str, message: str) -> None:
        self.problems.append(_problem(key, message))

    def check(self) -> None:
        if self.problems:
            raise StrategyOptionsInvalid(self.problems)


def _problem(key: str, message: str, code: str = "invalid") -> FieldProblem:
    return FieldProblem(f"{OPTIONS_FIELD}.{key}", message, code)

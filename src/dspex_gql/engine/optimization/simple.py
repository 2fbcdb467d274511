"""RANDOM and GRID_SEARCH: strategies whose candidates do not depend on outcomes.

Candidate n of a random search is drawn from `numpy.random.default_rng([seed, n])` and of a grid
search is the n-th grid point, so a resumed run asks exactly what an uninterrupted one would.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from dspex_gql.engine.optimization.base import (
    Candidate,
    History,
    Outcome,
    next_number,
    resolve_seed,
)
from dspex_gql.engine.optimization.random_space import sample_configuration
from dspex_gql.engine.variables.model import SearchSpace
from dspex_gql.engine.variables.sampling import iterate_grid


class RandomSearch:
    def __init__(self, space: SearchSpace, *, seed: int | None) -> None:
        self.space = space
        self.seed = resolve_seed(seed)
        self._next = 0

    def ask(self) -> Candidate:
        number = self._next
        self._next += 1
        rng = np.random.default_rng([self.seed, number])
        return Candidate(number, sample_configuration(self.space, rng))

    def tell(self, candidate: Candidate, outcome: Outcome) -> None:
        """Outcomes do not change what a random search asks next."""

    def replay(self, history: History) -> None:
        """Continue numbering after `history`."""
        self._next = max(self._next, next_number(history))


class GridSearch:
    def __init__(self, space: SearchSpace, *, points: int) -> None:
        self.space = space
        self.points = points
        self._grid: Iterator[dict[str, Any]] = iterate_grid(space, points=points)
        self._next = 0

    def ask(self) -> Candidate | None:
        configuration = next(self._grid, None)
        if configuration is None:
            return None
        number = self._next
        self._next += 1
        return Candidate(number, dict(configuration))

    def tell(self, candidate: Candidate, outcome: Outcome) -> None:
        """Outcomes do not change the grid."""

    def replay(self, history: History) -> None:
        """Skip the grid points `history` already covers."""
        skip = next_number(history) - self._next
        if skip > 0:
            self._grid = itertools.islice(self._grid, skip, None)
            self._next += skip

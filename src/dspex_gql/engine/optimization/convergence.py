"""When to stop: how long since the best score last improved.

tracker = ConvergenceTracker(patience=5)
for score in scores:  # None for a failed iteration
    tracker.record(score)
    if tracker.converged:
        break
"""

from __future__ import annotations

from enum import StrEnum

from dspex_gql.engine.optimization.pareto import Direction

SCORE_WINDOW = 10
"""Without patience, the convergence score reaches 1 after this many iterations without gain."""


class ConvergenceStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IMPROVING = "IMPROVING"
    PLATEAU = "PLATEAU"
    CONVERGED = "CONVERGED"


class ConvergenceTracker:
    """Failed iterations (None) count as iterations without improvement."""

    def __init__(
        self,
        patience: int | None,
        min_delta: float = 1e-9,
        direction: Direction = Direction.MAXIMIZE,
    ) -> None:
        if patience is not None and patience < 1:
            raise ValueError("patience must be at least 1")
        self.patience = patience
        self.min_delta = min_delta
        self.direction = direction
        self.best: float | None = None
        self.iterations = 0
        self.iterations_since_improvement = 0

    def record(self, score: float | None) -> bool:
        """Record one iteration; True when it improved the best score by more than min_delta."""
        self.iterations += 1
        improved = score is not None and (
            self.best is None or self.direction.better(score, self._threshold(self.best))
        )
        if improved:
            self.best = score
            self.iterations_since_improvement = 0
        else:
            self.iterations_since_improvement += 1
        return improved

    @property
    def converged(self) -> bool:
        return self.patience is not None and self.iterations_since_improvement >= self.patience

    @property
    def score(self) -> float:
        """In [0, 1]: iterations since the last improvement over the patience (or window)."""
        return min(1.0, self.iterations_since_improvement / self._window)

    @property
    def status(self) -> ConvergenceStatus:
        if self.converged:
            return ConvergenceStatus.CONVERGED
        if self.best is None:
            return ConvergenceStatus.NOT_STARTED
        if self.iterations_since_improvement < self._window / 2:
            return ConvergenceStatus.IMPROVING
        return ConvergenceStatus.PLATEAU

    @property
    def _window(self) -> int:
        return self.patience if self.patience is not None else SCORE_WINDOW

    def _threshold(self, best: float) -> float:
        if self.direction is Direction.MAXIMIZE:
            return best + self.min_delta
        return best - self.min_delta

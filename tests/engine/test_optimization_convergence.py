from __future__ import annotations

import pytest

from dspex_gql.engine.optimization.convergence import ConvergenceStatus, ConvergenceTracker
from dspex_gql.engine.optimization.pareto import Direction


def status(tracker: ConvergenceTracker) -> ConvergenceStatus:
    """Read through a call, so that mypy does not narrow the property between records."""
    return tracker.status


def test_tracker_goes_from_not_started_through_plateau_to_converged() -> None:
    tracker = ConvergenceTracker(patience=4)
    assert status(tracker) is ConvergenceStatus.NOT_STARTED
    assert tracker.score == 0.0

    assert tracker.record(0.5)
    assert status(tracker) is ConvergenceStatus.IMPROVING
    assert not tracker.record(0.5)  # equal is no improvement
    assert status(tracker) is ConvergenceStatus.IMPROVING  # 1 < 4 / 2
    assert not tracker.record(None)  # a failure counts as an iteration without improvement
    assert status(tracker) is ConvergenceStatus.PLATEAU
    assert tracker.iterations_since_improvement == 2
    assert tracker.score == pytest.approx(0.5)

    assert tracker.record(0.7)
    assert (tracker.best, tracker.iterations_since_improvement) == (0.7, 0)
    for _ in range(4):
        assert not tracker.record(0.6)
    assert tracker.converged
    assert status(tracker) is ConvergenceStatus.CONVERGED
    assert tracker.score == 1.0
    assert tracker.iterations == 8


def test_min_delta_and_minimizing() -> None:
    tracker = ConvergenceTracker(patience=2, min_delta=0.1, direction=Direction.MINIMIZE)
    assert tracker.record(1.0)
    assert not tracker.record(0.95)
    assert tracker.record(0.8)
    assert tracker.best == 0.8


def test_without_patience_it_never_converges_and_scores_over_ten() -> None:
    tracker = ConvergenceTracker(patience=None)
    tracker.record(1.0)
    for _ in range(5):
        tracker.record(0.0)
    assert tracker.score == pytest.approx(0.5)
    assert status(tracker) is ConvergenceStatus.PLATEAU
    for _ in range(20):
        tracker.record(0.0)
    assert not tracker.converged
    assert tracker.score == 1.0


def test_only_failures_never_start_but_can_converge() -> None:
    tracker = ConvergenceTracker(patience=3)
    tracker.record(None)
    assert status(tracker) is ConvergenceStatus.NOT_STARTED
    tracker.record(None)
    tracker.record(None)
    assert status(tracker) is ConvergenceStatus.CONVERGED
    assert tracker.best is None


def test_patience_must_be_positive() -> None:
    with pytest.raises(ValueError, match="patience"):
        ConvergenceTracker(patience=0)

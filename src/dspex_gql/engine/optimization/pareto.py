"""Pareto fronts: the exact set of non-dominated points, batch or incremental.

    pareto_front(runs, lambda run: (run.score, run.cost), (Direction.MAXIMIZE, Direction.MINIMIZE))

Points with identical objective vectors do not dominate each other, so all of them are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

P = TypeVar("P")


class Direction(StrEnum):
    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"

    def better(self, left: float, right: float) -> bool:
        """Whether `left` is strictly better than `right` in this direction."""
        return left > right if self is Direction.MAXIMIZE else left < right

    def signed(self, value: float) -> float:
        """The value oriented so that higher is better."""
        return value if self is Direction.MAXIMIZE else -value


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[Direction]) -> bool:
    """`a` is nowhere worse than `b` and somewhere strictly better."""
    if not len(a) == len(b) == len(directions):
        raise ValueError("objective vectors and directions must have the same length")
    strictly_better = False
    for left, right, direction in zip(a, b, directions, strict=True):
        if direction.better(right, left):
            return False
        strictly_better = strictly_better or direction.better(left, right)
    return strictly_better


def pareto_front(
    points: Sequence[P],
    values: Callable[[P], Sequence[float]],
    directions: Sequence[Direction],
) -> list[P]:
    """The points no other point dominates, in the given order; O(n²) comparisons."""
    vectors = [tuple(values(point)) for point in points]
    return [
        point
        for point, vector in zip(points, vectors, strict=True)
        if not any(dominates(other, vector, directions) for other in vectors)
    ]


class ParetoFrontier(Generic[P]):
    """The non-dominated points among everything added so far, in the order they were added.

    With `distinct`, a point whose values equal a member's does not join: the frontier keeps one
    point (the first) per non-dominated value vector, so ties on a coarse metric don't pile up.
    """

    def __init__(self, directions: Sequence[Direction], *, distinct: bool = False) -> None:
        self.directions = tuple(directions)
        self.distinct = distinct
        self._members: list[tuple[P, tuple[float, ...]]] = []

    def add(self, point: P, values: Sequence[float]) -> bool:
        """Add a point; True when it joins the frontier (possibly evicting dominated members)."""
        vector = tuple(values)
        if any(
            dominates(member, vector, self.directions) or (self.distinct and member == vector)
            for _, member in self._members
        ):
            return False
        self._members = [
            (kept, member)
            for kept, member in self._members
            if not dominates(vector, member, self.directions)
        ]
        self._members.append((point, vector))
        return True

    @property
    def points(self) -> list[P]:
        return [point for point, _ in self._members]

    @property
    def values(self) -> list[tuple[float, ...]]:
        return [vector for _, vector in self._members]

    def __len__(self) -> int:
        return len(self._members)

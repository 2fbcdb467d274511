from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dspex_gql.engine.optimization.pareto import Direction, ParetoFrontier, dominates, pareto_front

MAX, MIN = Direction.MAXIMIZE, Direction.MINIMIZE


def test_dominates_needs_nowhere_worse_and_somewhere_better() -> None:
    assert dominates((2, 1), (1, 1), (MAX, MAX))
    assert not dominates((1, 1), (1, 1), (MAX, MAX))
    assert not dominates((2, 0), (1, 1), (MAX, MAX))
    assert dominates((0.9, 1.0), (0.8, 2.0), (MAX, MIN))
    assert not dominates((0.9, 3.0), (0.8, 2.0), (MAX, MIN))
    with pytest.raises(ValueError, match="same length"):
        dominates((1,), (1, 2), (MAX, MAX))


def test_front_keeps_ties_and_given_order() -> None:
    points = [("a", (1, 5)), ("b", (3, 3)), ("c", (1, 5)), ("d", (2, 2)), ("e", (5, 1))]
    front = pareto_front(points, lambda point: point[1], (MAX, MAX))
    assert [name for name, _ in front] == ["a", "b", "c", "e"]


def test_front_with_mixed_directions() -> None:
    # (score ↑, cost ↓)
    runs = {"cheap": (0.6, 1.0), "good": (0.9, 5.0), "bad": (0.5, 2.0), "best": (0.9, 4.0)}
    front = pareto_front(list(runs), runs.__getitem__, (MAX, MIN))
    assert front == ["cheap", "best"]


def brute_force(vectors: list[tuple[int, ...]], directions: tuple[Direction, ...]) -> list[int]:
    def better_or_equal(a: int, b: int, direction: Direction) -> bool:
        return a >= b if direction is MAX else a <= b

    kept = []
    for i, candidate in enumerate(vectors):
        dominated = any(
            other != candidate and all(map(better_or_equal, other, candidate, directions))
            for other in vectors
        )
        if not dominated:
            kept.append(i)
    return kept


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], tuple[Direction, ...]]:
    dimensions = draw(st.integers(1, 3))
    directions = tuple(
        draw(st.lists(st.sampled_from([MAX, MIN]), min_size=dimensions, max_size=dimensions))
    )
    vector = st.tuples(*[st.integers(0, 4)] * dimensions)
    return draw(st.lists(vector, max_size=30)), directions


@given(point_sets())
def test_front_is_exactly_the_non_dominated_set(
    case: tuple[list[tuple[int, ...]], tuple[Direction, ...]],
) -> None:
    vectors, directions = case
    indices = list(range(len(vectors)))
    assert pareto_front(indices, vectors.__getitem__, directions) == brute_force(
        vectors, directions
    )


@given(point_sets())
def test_incremental_frontier_equals_the_batch_front(
    case: tuple[list[tuple[int, ...]], tuple[Direction, ...]],
) -> None:
    vectors, directions = case
    frontier: ParetoFrontier[int] = ParetoFrontier(directions)
    for index, vector in enumerate(vectors):
        before = frontier.points
        changed = frontier.add(index, vector)
        assert changed == (frontier.points != before)
        assert frontier.points == pareto_front(
            list(range(index + 1)), vectors.__getitem__, directions
        )
    assert frontier.values == [vectors[i] for i in frontier.points]
    assert len(frontier) == len(frontier.points)


def test_frontier_reports_whether_it_changed() -> None:
    frontier: ParetoFrontier[str] = ParetoFrontier((MAX, MIN))
    assert frontier.add("a", (0.5, 2.0))
    assert not frontier.add("worse", (0.4, 3.0))
    assert frontier.add("tie", (0.5, 2.0))
    assert frontier.add("better", (0.6, 1.0))
    assert frontier.points == ["better"]


@given(point_sets())
def test_a_distinct_frontier_keeps_the_first_point_of_each_non_dominated_vector(
    case: tuple[list[tuple[int, ...]], tuple[Direction, ...]],
) -> None:
    vectors, directions = case
    frontier: ParetoFrontier[int] = ParetoFrontier(directions, distinct=True)
    for index, vector in enumerate(vectors):
        frontier.add(index, vector)
    front = pareto_front(list(range(len(vectors))), vectors.__getitem__, directions)
    firsts = [i for i in front if vectors.index(vectors[i]) == i]
    assert frontier.points == firsts


def test_a_distinct_frontier_refuses_a_tie() -> None:
    frontier: ParetoFrontier[str] = ParetoFrontier((MAX,), distinct=True)
    assert frontier.add("a", (1.0,))
    assert not frontier.add("tie", (1.0,))
    assert frontier.points == ["a"]

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dspex_gql.engine.dags.graph import find_cycles, topological_levels, topological_order


def test_levels_keep_definition_order_and_leave_out_nodes_in_or_after_cycles() -> None:
    edges = {
        "late": ("b",),  # written before its dependency
        "b": ("a",),
        "a": (),
        "c": ("a",),
        "x": ("y",),  # x and y depend on each other
        "y": ("x",),
        "after": ("x", "a"),
    }
    assert topological_levels(edges) == ([["a"], ["b", "c"], ["late"]], {"x", "y", "after"})
    assert topological_order(edges) == ["a", "b", "c", "late"]


names = st.sampled_from([f"n{i}" for i in range(8)])


@given(st.dictionaries(names, st.lists(names, max_size=3, unique=True).map(tuple)))
def test_each_node_is_one_level_past_its_deepest_dependency_unless_in_or_after_a_cycle(
    edges: dict[str, tuple[str, ...]],
) -> None:
    edges = {name: tuple(d for d in deps if d in edges) for name, deps in edges.items()}
    levels, left = topological_levels(edges)
    level_of = {name: number for number, level in enumerate(levels) for name in level}
    assert len(level_of) + len(left) == len(edges)
    assert bool(left) == bool(find_cycles(edges))
    assert topological_order(edges) == [name for level in levels for name in level]
    for number, level in enumerate(levels):
        assert level == sorted(level, key=list(edges).index)
        for name in level:
            assert number == 1 + max((level_of[d] for d in edges[name]), default=-1)

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dspex_gql.engine.dags.definition import DagDefinition, NodeDefinition
from dspex_gql.engine.dags.planning import PlanningError, entry_inputs, levels, sinks
from dspex_gql.engine.types import parse_type
from tests.engine.dags.helpers import SIGNATURES, dag, node


def graph(*edges: tuple[str, tuple[str, ...]]) -> DagDefinition:
    return DagDefinition(tuple(NodeDefinition(name, deps, program_id="p") for name, deps in edges))


def test_a_diamond_plans_into_three_levels() -> None:
    diamond = graph(("a", ()), ("c", ("a",)), ("b", ("a",)), ("d", ("b", "c")))
    assert levels(diamond) == [["a"], ["c", "b"], ["d"]]
    assert sinks(diamond) == ["d"]


def test_a_chain_plans_one_node_per_level() -> None:
    chain = graph(("c", ("b",)), ("b", ("a",)), ("a", ()))
    assert levels(chain) == [["a"], ["b"], ["c"]]
    assert sinks(chain) == ["c"]


def test_a_wide_dag_plans_its_fan_in_definition_order() -> None:
    names = [f"n{i}" for i in range(50)]
    wide = graph(("root", ()), *((name, ("root",)) for name in names), ("join", tuple(names)))
    assert levels(wide) == [["root"], names, ["join"]]
    assert sinks(wide) == ["join"]


def test_independent_nodes_are_all_sinks_and_one_level() -> None:
    assert levels(graph(("x", ()), ("y", ()))) == [["x", "y"]]
    assert sinks(graph(("x", ()), ("y", ()))) == ["x", "y"]


def test_a_long_chain_plans_without_recursion() -> None:
    chain = graph(("n0", ()), *((f"n{i}", (f"n{i - 1}",)) for i in range(1, 3000)))
    assert len(levels(chain)) == 3000


def test_unvalidated_definitions_are_refused() -> None:
    with pytest.raises(PlanningError, match=r"^cycle: a -> b -> a$"):
        levels(graph(("a", ("b",)), ("b", ("a",))))
    with pytest.raises(PlanningError, match="unknown dependencies: z"):
        levels(graph(("a", ("z",))))


def test_entry_inputs_are_typed_by_the_inputs_they_feed() -> None:
    definition = dag(
        node("retrieve", "retrieve", inputs={"question": "$context.q"}),
        node("each", "summarize", inputs={"passage": "$context.texts"}, fanOut="passage"),
        node("pick", None, kind="TRANSFORM", transform={"op": "pick", "fields": ["x"]},
             inputs={"x": "$context.anything"}),
        node("answer", "answer", "retrieve",
             inputs={"question": "$context.q", "passages": "$nodes.retrieve.passages"}),
    )  # fmt: skip
    assert entry_inputs(definition, SIGNATURES) == {
        "q": parse_type("str"),
        "texts": parse_type("list[str]"),
        "anything": None,
    }


def test_an_entry_input_takes_its_type_from_a_program_over_a_transform() -> None:
    definition = dag(
        node("pick", None, kind="TRANSFORM", transform={"op": "pick", "fields": ["x"]},
             inputs={"x": "$context.q"}),
        node("retrieve", "retrieve", inputs={"question": "$context.q"}),
    )  # fmt: skip
    assert entry_inputs(definition, SIGNATURES) == {"q": parse_type("str")}


@st.composite
def acyclic_dags(draw: st.DrawFn) -> DagDefinition:
    """Nodes n0..nk where each depends only on lower numbers, shuffled into any order."""
    count = draw(st.integers(min_value=1, max_value=30))
    nodes = []
    for index in range(count):
        deps = draw(st.lists(st.integers(0, index - 1), max_size=4)) if index else []
        nodes.append(NodeDefinition(f"n{index}", tuple(f"n{d}" for d in deps), program_id="p"))
    return DagDefinition(tuple(draw(st.permutations(nodes))))


@given(acyclic_dags())
def test_any_acyclic_dag_plans_each_dependency_into_an_earlier_level(
    definition: DagDefinition,
) -> None:
    planned = levels(definition)
    level_of = {name: number for number, level in enumerate(planned) for name in level}
    assert sorted(level_of) == sorted(node.name for node in definition.nodes)
    assert sum(map(len, planned)) == len(definition.nodes)
    for node_definition in definition.nodes:
        for dependency in node_definition.dependencies:
            assert level_of[dependency] < level_of[node_definition.name]
    dependencies = {node.name: node.dependencies for node in definition.nodes}
    for number, level in enumerate(planned[1:], start=1):
        for name in level:  # as early as possible: something in the level just before
            assert any(level_of[d] == number - 1 for d in dependencies[name])

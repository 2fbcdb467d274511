from __future__ import annotations

from dspex_gql.engine.dags.validation import validate
from tests.engine.dags.helpers import SIGNATURES, dag, node, problems

Q = {"question": "$context.question"}
RETRIEVED = {"question": "$context.question", "passages": "$nodes.retrieve.passages"}


def test_a_valid_chain_has_no_problems() -> None:
    assert (
        problems(
            node("retrieve", "retrieve", inputs=Q),
            node("answer", "answer", "retrieve", inputs=RETRIEVED),
        )
        == []
    )


def test_duplicate_names() -> None:
    assert problems(node("a", "retrieve", inputs=Q), node("a", "retrieve", inputs=Q)) == [
        ("definition.nodes[1].name", "duplicate", "duplicate node name 'a' (node 0 has it)")
    ]


def test_unknown_dependencies() -> None:
    assert problems(node("a", "retrieve", "b", "a2", inputs=Q)) == [
        ("definition.nodes[0].dependencies[0]", "unknown_dependency", "unknown node 'b'"),
        ("definition.nodes[0].dependencies[1]", "unknown_dependency", "unknown node 'a2'"),
    ]


def test_a_cycle_is_named_by_its_path() -> None:
    found = problems(
        node("start", "retrieve", inputs=Q),
        node("a", "retrieve", "start", "c", inputs=Q),
        node("b", "retrieve", "a", inputs=Q),
        node("c", "retrieve", "b", inputs=Q),
    )
    assert found == [("definition.nodes[1].dependencies", "cycle", "cycle: a -> c -> b -> a")]


def test_each_cycle_is_reported_once_and_a_self_dependency_is_one() -> None:
    found = problems(
        node("a", "retrieve", "b", inputs=Q),
        node("b", "retrieve", "a", inputs=Q),
        node("s", "retrieve", "s", inputs=Q),
    )
    assert found == [
        ("definition.nodes[0].dependencies", "cycle", "cycle: a -> b -> a"),
        ("definition.nodes[2].dependencies", "cycle", "cycle: s -> s"),
    ]


def test_unknown_and_other_tenant_programs() -> None:
    assert problems(node("a", "nope", inputs=Q), node("b", "other-tenant", inputs=Q)) == [
        ("definition.nodes[0].programId", "unknown_program", "unknown program 'nope'"),
        ("definition.nodes[1].programId", "unknown_program", "unknown program 'other-tenant'"),
    ]


def test_inputs_the_program_lacks_and_inputs_left_unmapped() -> None:
    found = problems(node("a", "answer", inputs={"query": "$context.q"}))
    assert found == [
        (
            "definition.nodes[0].inputs.query",
            "unknown_input",
            "'query' is not an input of program 'answer' (inputs: question, passages)",
        ),
        (
            "definition.nodes[0].inputs.question",
            "missing",
            "input 'question' of program 'answer' is not mapped",
        ),
        (
            "definition.nodes[0].inputs.passages",
            "missing",
            "input 'passages' of program 'answer' is not mapped",
        ),
    ]


def test_references_must_name_an_upstream_node() -> None:
    found = problems(
        node("retrieve", "retrieve", inputs=Q),
        node("side", "retrieve", inputs=Q),
        node("answer", "answer", "side", inputs=RETRIEVED),
        node("last", "summarize", "answer", inputs={"passage": "$nodes.ghost.x"}),
    )
    assert found == [
        (
            "definition.nodes[2].inputs.passages",
            "not_upstream",
            "'retrieve' is not upstream of 'answer': add it to dependencies",
        ),
        ("definition.nodes[3].inputs.passage", "unknown_node", "unknown node 'ghost'"),
    ]


def test_transitive_upstream_nodes_may_be_referenced() -> None:
    assert (
        problems(
            node("retrieve", "retrieve", inputs=Q),
            node("middle", "retrieve", "retrieve", inputs=Q),
            node("answer", "answer", "middle", inputs=RETRIEVED),
        )
        == []
    )


def test_a_node_cannot_use_its_own_outputs() -> None:
    found = problems(node("a", "label", inputs={"verdict": "$nodes.a.label"}))
    message = "'a' is not upstream of 'a': add it to dependencies"
    assert found == [("definition.nodes[0].inputs.verdict", "not_upstream", message)]


def test_references_to_outputs_the_signature_lacks() -> None:
    found = problems(
        node("retrieve", "retrieve", inputs=Q),
        node(
            "answer", "answer", "retrieve", inputs={**RETRIEVED, "passages": "$nodes.retrieve.docs"}
        ),
    )
    message = "'retrieve' has no output 'docs' (outputs: passages, score)"
    assert found == [("definition.nodes[1].inputs.passages", "unknown_output", message)]


def test_outputs_of_an_unknown_program_are_not_checked_twice() -> None:
    found = problems(
        node("retrieve", "nope", inputs=Q),
        node("answer", "answer", "retrieve", inputs=RETRIEVED),
    )
    assert [code for _, code, _ in found] == ["unknown_program"]


def test_a_list_into_a_str_is_refused_naming_both_fields_and_types() -> None:
    found = problems(
        node("retrieve", "retrieve", inputs=Q),
        node(
            "answer",
            "answer",
            "retrieve",
            inputs={**RETRIEVED, "question": "$nodes.retrieve.passages"},
        ),
    )
    message = "'retrieve.passages' (list[str]) does not fit input 'question' (str)"
    assert found == [("definition.nodes[1].inputs.question", "type", message)]


def test_a_str_into_a_list_is_refused() -> None:
    found = problems(
        node("summarize", "summarize", inputs={"passage": "$context.p"}),
        node("answer", "answer", "summarize", inputs={**Q, "passages": "$nodes.summarize.summary"}),
    )
    message = "'summarize.summary' (str) does not fit input 'passages' (list[str])"
    assert found == [("definition.nodes[1].inputs.passages", "type", message)]


def test_a_literal_into_a_str_and_an_int_into_a_float_are_accepted() -> None:
    assert (
        problems(
            node("count", "count", inputs=Q),
            node("label", "label", "count", inputs={"verdict": "$nodes.count.verdict"}),
            node("weigh", "weigh", "count", inputs={"weight": "$nodes.count.n"}),
        )
        == []
    )


def test_a_float_into_a_str_is_refused() -> None:
    found = problems(
        node("retrieve", "retrieve", inputs=Q),
        node("label", "label", "retrieve", inputs={"verdict": "$nodes.retrieve.score"}),
    )
    message = "'retrieve.score' (float) does not fit input 'verdict' (str)"
    assert found == [("definition.nodes[1].inputs.verdict", "type", message)]


def test_fan_out_over_a_list_whose_items_fit() -> None:
    assert (
        problems(
            node("retrieve", "retrieve", inputs=Q),
            node(
                "each",
                "summarize",
                "retrieve",
                inputs={"passage": "$nodes.retrieve.passages"},
                fanOut="passage",
            ),
            node("answer", "answer", "each", inputs={**Q, "passages": "$nodes.each.summary"}),
        )
        == []
    )


def test_fan_out_outputs_are_lists() -> None:
    found = problems(
        node("retrieve", "retrieve", inputs=Q),
        node(
            "each",
            "summarize",
            "retrieve",
            inputs={"passage": "$nodes.retrieve.passages"},
            fanOut="passage",
        ),
        node("again", "summarize", "each", inputs={"passage": "$nodes.each.summary"}),
    )
    message = "'each.summary' (list[str]) does not fit input 'passage' (str)"
    assert found == [("definition.nodes[2].inputs.passage", "type", message)]


def test_fan_out_needs_a_list() -> None:
    found = problems(
        node("summarize", "summarize", inputs={"passage": "$context.p"}),
        node(
            "each",
            "label",
            "summarize",
            inputs={"verdict": "$nodes.summarize.summary"},
            fanOut="verdict",
        ),
    )
    message = "fanOut 'verdict' needs a list, but 'summarize.summary' is str"
    assert found == [("definition.nodes[1].inputs.verdict", "fan_out", message)]


def test_fan_out_items_must_fit_the_input() -> None:
    found = problems(
        node("count", "count", inputs=Q),
        node("gather", "count", "count", inputs={"question": "$context.all"}, fanOut="question"),
        node("each", "label", "gather", inputs={"verdict": "$nodes.gather.n"}, fanOut="verdict"),
    )
    message = "each item of 'gather.n' (int) does not fit input 'verdict' (str)"
    assert found == [("definition.nodes[2].inputs.verdict", "type", message)]


def test_one_context_key_needed_as_two_types() -> None:
    found = problems(
        node("a", "summarize", inputs={"passage": "$context.text"}),
        node("b", "answer", inputs={"question": "$context.q", "passages": "$context.text"}),
    )
    message = "context 'text' is needed as list[str] here but as str by 'a.passage'"
    assert found == [("definition.nodes[1].inputs.passages", "context_type", message)]


def test_transforms_flow_types_through() -> None:
    merge = {"op": "merge", "into": "passages"}
    rename = {"op": "rename", "renames": {"passages": "texts"}}
    found = problems(
        node("a", "summarize", inputs={"passage": "$context.a"}),
        node("b", "summarize", inputs={"passage": "$context.b"}),
        node("both", None, "a", "b", kind="TRANSFORM", transform=merge,
             inputs={"x": "$nodes.a.summary", "y": "$nodes.b.summary"}),
        node("renamed", None, "both", kind="TRANSFORM", transform=rename,
             inputs={"passages": "$nodes.both.passages"}),
        node("answer", "answer", "renamed", inputs={**Q, "passages": "$nodes.renamed.texts"}),
        node("wrong", "summarize", "renamed", inputs={"passage": "$nodes.renamed.texts"}),
    )  # fmt: skip
    message = "'renamed.texts' (list[str]) does not fit input 'passage' (str)"
    assert found == [("definition.nodes[5].inputs.passage", "type", message)]


def test_transform_problems() -> None:
    found = problems(
        node("n", "count", inputs=Q),
        node("s", "summarize", inputs={"passage": "$context.p"}),
        node("pick", None, "n", kind="TRANSFORM", transform={"op": "pick", "fields": ["m"]},
             inputs={"n": "$nodes.n.n"}, fanOut="n"),
        node("merge", None, "n", "s", kind="TRANSFORM", transform={"op": "merge", "into": "all"},
             inputs={"x": "$nodes.n.n", "y": "$nodes.s.summary"}),
        node("rename", None, kind="TRANSFORM", transform={"op": "rename", "renames": {"a": "b"}}),
        node("pick2", None, "pick", kind="TRANSFORM", transform={"op": "pick", "fields": ["n"]},
             inputs={"n": "$nodes.pick.n"}),
    )  # fmt: skip
    assert found == [
        ("definition.nodes[2].fanOut", "fan_out", "only PROGRAM nodes fan out"),
        (
            "definition.nodes[2].transform.fields",
            "transform",
            "'m' is not an input of this transform",
        ),
        (
            "definition.nodes[3].transform.into",
            "type",
            "merge needs inputs of one type: 'n.n' is int, 's.summary' is str",
        ),
        ("definition.nodes[4].inputs", "transform", "a TRANSFORM node needs inputs"),
        (
            "definition.nodes[4].transform.renames",
            "transform",
            "'a' is not an input of this transform",
        ),
        ("definition.nodes[5].inputs.n", "unknown_output", "'pick' has no output 'n' (outputs: m)"),
    ]


def test_every_problem_is_reported_together() -> None:
    definition = dag(
        node("a", "nope", "ghost", inputs=Q),
        node("a", "answer", inputs={"question": "$nodes.zz.x"}),
        node("c", "summarize", "c", inputs={"passage": "$context.p"}),
    )
    codes = [problem.code for problem in validate(definition, SIGNATURES)]
    assert codes == [
        "duplicate",
        "unknown_dependency",
        "cycle",
        "unknown_program",
        "missing",
        "unknown_node",
    ]

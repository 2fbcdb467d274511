from __future__ import annotations

from typing import Any

import pytest

from dspex_gql.engine.dags.definition import (
    NodeKind,
    Reference,
    Transform,
    TransformOp,
    parse_reference,
)
from dspex_gql.engine.dags.parsing import DefinitionError, parse_definition


def parse_problems(raw: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(raw)
    return [(p.field, p.code, p.message) for p in caught.value.problems]


def test_a_full_node_is_read_with_defaults_for_what_it_leaves_out() -> None:
    definition = parse_definition(
        {
            "nodes": [
                {"name": "retrieve", "programId": "p1", "inputs": {"question": "$context.q"}},
                {
                    "name": "pick",
                    "kind": "TRANSFORM",
                    "dependencies": ["retrieve"],
                    "inputs": {"passages": "$nodes.retrieve.passages"},
                    "transform": {"op": "rename", "renames": {"passages": "texts"}},
                    "maxRetries": 3,
                    "timeoutSeconds": 2,
                },
            ]
        }
    )
    first, second = definition.nodes
    assert (first.kind, first.program_id, first.dependencies) == (NodeKind.PROGRAM, "p1", ())
    assert (first.max_retries, first.timeout_seconds, first.fan_out) == (0, None, None)
    assert dict(first.inputs) == {"question": Reference(None, "q")}
    assert second.transform == Transform(TransformOp.RENAME, renames={"passages": "texts"})
    assert (second.max_retries, second.timeout_seconds) == (3, 2.0)
    assert second.inputs == {"passages": Reference("retrieve", "passages")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$context.question", Reference(None, "question")),
        ("$nodes.retrieve.passages", Reference("retrieve", "passages")),
        ("$nodes.step-2.out_1", Reference("step-2", "out_1")),
        ("$context", None),
        ("$context.a.b", None),
        ("$nodes.retrieve", None),
        ("nodes.retrieve.passages", None),
        ("$ctx.question", None),
        ("$context.question ", None),
    ],
)
def test_references_have_two_spellings(text: str, expected: Reference | None) -> None:
    assert parse_reference(text) == expected


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    raw = {
        "nodes": [
            {"name": "ok", "programId": "p"},
            {"programId": 7, "dependencies": "a", "maxRetries": True, "color": "red"},
            {"name": "2x", "programId": "p", "inputs": {"q": "$ctx.q", "n": 3}, "fanOut": "z"},
            {"name": "t", "kind": "TRANSFORM", "programId": "p", "timeoutSeconds": 0},
            {"name": "u", "kind": "JOB", "maxRetries": 11, "transform": {"op": "pick"}},
            "node",
        ]
    }
    valid_node = "a letter or '_', then letters, digits, '_' or '-'; at most 64"
    assert parse_problems(raw) == [
        ("definition.nodes[1].color", "unknown", "unknown field 'color'"),
        ("definition.nodes[1].name", "required", "name is required"),
        ("definition.nodes[1].dependencies", "type", "expected a list of node names, got str"),
        ("definition.nodes[1].programId", "type", "expected a string, got int"),
        ("definition.nodes[1].maxRetries", "type", "expected an integer, got bool"),
        (
            "definition.nodes[2].inputs.q",
            "syntax",
            "'$ctx.q' is not a reference: write $context.<key> or $nodes.<node>.<output>",
        ),
        ("definition.nodes[2].inputs.n", "type", "expected a reference string, got int"),
        (
            "definition.nodes[2].name",
            "invalid_name",
            f"'2x' is not a valid node name ({valid_node})",
        ),
        ("definition.nodes[2].fanOut", "unknown", "fanOut 'z' must be one of the node's inputs"),
        ("definition.nodes[3].programId", "invalid", "a TRANSFORM node runs no program"),
        ("definition.nodes[3].transform", "required", "a TRANSFORM node needs a transform"),
        (
            "definition.nodes[3].timeoutSeconds",
            "out_of_range",
            "timeoutSeconds must be above 0 and at most 86400",
        ),
        ("definition.nodes[4].kind", "invalid", "kind must be PROGRAM or TRANSFORM, got 'JOB'"),
        ("definition.nodes[4].programId", "required", "a PROGRAM node needs a programId"),
        ("definition.nodes[4].transform", "invalid", "only a TRANSFORM node has a transform"),
        ("definition.nodes[4].maxRetries", "out_of_range", "maxRetries must be between 0 and 10"),
        ("definition.nodes[5]", "type", "expected an object, got str"),
    ]


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ({"op": "zip"}, ("op", "invalid", "op must be pick, rename or merge, got 'zip'")),
        (
            {"op": "pick", "fields": []},
            ("fields", "required", "pick needs 'fields', a non-empty list of input names"),
        ),
        (
            {"op": "rename"},
            ("renames", "required", "rename needs 'renames', an object of old → new name"),
        ),
        (
            {"op": "rename", "renames": {"a": "1b"}},
            ("renames.a", "invalid_name", "'1b' is not a valid field name"),
        ),
        (
            {"op": "merge"},
            ("into", "required", "merge needs 'into', the name of its list output"),
        ),
        ({"op": "merge", "into": "all", "x": 1}, ("x", "unknown", "unknown field 'x'")),
        ("pick", ("", "type", "expected an object with 'op', got str")),
    ],
)
def test_transform_problems(transform: Any, expected: tuple[str, str, str]) -> None:
    raw = {"nodes": [{"name": "t", "kind": "TRANSFORM", "transform": transform}]}
    part, code, message = expected
    path = "definition.nodes[0].transform" + (f".{part}" if part else "")
    assert parse_problems(raw) == [(path, code, message)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], ("definition", "type", "expected an object with 'nodes', got list")),
        ({}, ("definition.nodes", "type", "expected a list of nodes, got null")),
        ({"nodes": []}, ("definition.nodes", "required", "a DAG needs at least one node")),
        (
            {"nodes": [{"name": "a", "programId": "p"}], "edges": []},
            ("definition.edges", "unknown", "unknown field 'edges'"),
        ),
    ],
)
def test_the_definition_itself(raw: Any, expected: tuple[str, str, str]) -> None:
    assert parse_problems(raw) == [expected]


def test_dependency_items_and_input_names_are_checked_one_by_one() -> None:
    raw = {
        "nodes": [
            {
                "name": "a",
                "programId": "p",
                "dependencies": ["b", 1],
                "inputs": {"1x": "$context.q"},
            }
        ]
    }
    assert parse_problems(raw) == [
        ("definition.nodes[0].inputs.1x", "invalid_name", "'1x' is not a valid field name"),
        ("definition.nodes[0].dependencies[1]", "type", "expected a node name, got int"),
    ]

from __future__ import annotations

from typing import Any

from dspex_gql.engine.dags.definition import Transform, TransformOp
from dspex_gql.engine.dags.transforms import apply_transform
from tests.engine.dags.helpers import dag, node


def transform_of(raw: dict[str, Any]) -> Transform:
    """The transform as parsing reads it from the API's JSON."""
    parsed = dag(node("t", None, kind="TRANSFORM", transform=raw)).nodes[0].transform
    assert parsed is not None
    return parsed


def test_pick_keeps_only_the_fields_named() -> None:
    pick = transform_of({"op": "pick", "fields": ["a", "c"]})
    assert apply_transform(pick, {"a": 1, "b": 2, "c": [3]}) == {"a": 1, "c": [3]}


def test_pick_leaves_out_a_field_without_a_value() -> None:
    pick = transform_of({"op": "pick", "fields": ["a", "missing"]})
    assert apply_transform(pick, {"a": 1, "b": 2}) == {"a": 1}


def test_rename_renames_the_fields_named_and_keeps_the_others() -> None:
    rename = transform_of({"op": "rename", "renames": {"a": "x", "absent": "y"}})
    assert apply_transform(rename, {"a": 1, "b": 2}) == {"x": 1, "b": 2}


def test_merge_gathers_every_input_in_mapping_order() -> None:
    merge = transform_of({"op": "merge", "into": "all"})
    result = apply_transform(merge, {"second": "B", "first": ["A"], "third": None})
    assert result == {"all": ["B", ["A"], None]}
    assert apply_transform(merge, {}) == {"all": []}


def test_merge_without_into_names_its_output_merged() -> None:
    assert apply_transform(Transform(TransformOp.MERGE), {"a": 1}) == {"merged": [1]}


def test_transforms_leave_their_inputs_as_they_were() -> None:
    inputs = {"a": 1, "b": 2}
    raws: list[dict[str, Any]] = [
        {"op": "pick", "fields": ["a"]},
        {"op": "rename", "renames": {"a": "x"}},
        {"op": "merge", "into": "all"},
    ]
    for raw in raws:
        apply_transform(transform_of(raw), inputs)
    assert inputs == {"a": 1, "b": 2}

"""TRANSFORM nodes: pure reshaping of values, no code from users.

pick   {"op": "pick", "fields": ["a"]}         {"a": 1, "b": 2} → {"a": 1}
rename {"op": "rename", "renames": {"a": "x"}}  {"a": 1, "b": 2} → {"x": 1, "b": 2}
merge  {"op": "merge", "into": "all"}          {"a": 1, "b": 2} → {"all": [1, 2]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.dags.definition import Transform, TransformOp


def apply_transform(transform: Transform, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`inputs` in the node's mapping order (merge keeps it)."""
    if transform.op is TransformOp.PICK:
        return {name: inputs[name] for name in transform.fields if name in inputs}
    if transform.op is TransformOp.RENAME:
        return {transform.renames.get(name, name): value for name, value in inputs.items()}
    return {transform.into or "merged": list(inputs.values())}

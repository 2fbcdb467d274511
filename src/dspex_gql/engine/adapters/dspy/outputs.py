"""A prediction's fields as JSON values, checked against our signature.

Outputs are the signature's output fields, plus `reasoning` when the module produced one
(CHAIN_OF_THOUGHT, the extraction step of REACT) and, for REACT, the `trajectory` as a list of
steps `{"thought", "tool_name", "tool_args", "observation"}`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.adapters.base import AdapterError, ProgramType
from dspex_gql.engine.adapters.dspy.calls import bounded_text
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.engine.types import check_value

MAX_DEPTH = 32
_STEP_KEY = re.compile(r"(thought|tool_name|tool_args|observation)_(\d+)")


def field_value(prediction: Any, name: str) -> Any:
    if isinstance(prediction, Mapping):
        return prediction.get(name)
    try:
        return prediction[name]
    except (KeyError, TypeError, IndexError):
        return getattr(prediction, name, None)


def prediction_outputs(
    prediction: Any, signature: ParsedSignature, program_type: ProgramType
) -> dict[str, Any]:
    """`AdapterError` naming the first missing or mistyped output field."""
    outputs: dict[str, Any] = {}
    if isinstance(reasoning := field_value(prediction, "reasoning"), str):
        outputs["reasoning"] = reasoning
    if program_type == ProgramType.REACT:
        outputs["trajectory"] = trajectory_steps(field_value(prediction, "trajectory"))
    for field in signature.outputs:
        value = json_value(field_value(prediction, field.name))
        if value is None:
            raise AdapterError(f"the model's answer has no value for '{field.name}'")
        if problem := check_value(field.field_type, value):
            raise AdapterError(f"the model's answer for '{field.name}' is invalid: {problem}")
        outputs[field.name] = value
    return outputs


def json_value(value: Any, depth: int = 0) -> Any:
    """A JSON-compatible copy: tuples become lists, keys strings, pydantic models their dump,
    anything else its text; NaN and infinities become None."""
    if depth > MAX_DEPTH:
        return bounded_text(str(value), 200)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item, depth + 1) for item in value]
    if callable(getattr(value, "model_dump", None)):
        return json_value(value.model_dump(mode="json"), depth + 1)
    return str(value)


def trajectory_steps(trajectory: Any) -> list[dict[str, Any]]:
    """`{"thought_0": "t", "tool_name_0": "finish", …}` → `[{"thought": "t", "tool_name": …}]`."""
    if not isinstance(trajectory, Mapping):
        return []
    steps: dict[int, dict[str, Any]] = {}
    for key, value in trajectory.items():
        if match := _STEP_KEY.fullmatch(str(key)):
            shown = bounded_text(value) if isinstance(value, str) else json_value(value)
            steps.setdefault(int(match.group(2)), {})[match.group(1)] = shown
    return [steps[index] for index in sorted(steps)]

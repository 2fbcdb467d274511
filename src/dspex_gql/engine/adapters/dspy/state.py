"""Compiled program states: DSPy's `dump_state()` JSON (demos and instructions per predictor).

For a `Predict` program the state is one predictor's state; for the others it maps each
predictor's name (`predict`, `react`, `extract.predict`…) to one. A state only fills a module
built from our signature: it carries no structure. Before loading, each predictor's state is
reduced to the keys DSPy writes, and its `lm` dropped: models come from the run's
configuration, never from a state (an imported `lm` or `config` could send the call, and its
key, elsewhere).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.adapters.base import canonical_json
from dspex_gql.engine.adapters.dspy.loader import require_dspy

PREDICTOR_KEYS = frozenset({"traces", "train", "demos", "signature", "fields", "lm"})
FILE_ONLY_KEYS = frozenset({"metadata"})
"""`module.save("x.json")` writes `dump_state()` plus `metadata` (dependency versions)."""


def state_key(state: Mapping[str, Any] | None) -> str | None:
    if state is None:
        return None
    return hashlib.sha256(canonical_json(state).encode()).hexdigest()


def predictor_states(module: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """`{name: predictor state}` as `module.named_predictors()` names them; `self` for a Predict."""
    without_metadata = {key: value for key, value in state.items() if key not in FILE_ONLY_KEYS}
    if isinstance(module, require_dspy().Predict):
        return {"self": without_metadata}
    return without_metadata


def state_problems_for(module: Any, state: Any) -> list[str]:
    """Why `state` does not fit `module` (built from our signature, without a state)."""
    if not isinstance(state, Mapping):
        return ["the state must be an object (what DSPy's dump_state() returns)"]
    expected = predictor_states(module, module.dump_state())
    given = predictor_states(module, state)
    problems = [f"the state has no predictor '{name}'" for name in expected if name not in given]
    problems += [
        f"the state has a predictor '{name}' this program does not have"
        for name in given
        if name not in expected
    ]
    fields = {name: _field_names(predictor) for name, predictor in module.named_predictors()}
    for name in expected.keys() & given.keys():
        problems += _predictor_problems(name, given[name], expected[name], fields.get(name))
    return problems or _load_problems(module, state)


def _field_names(predictor: Any) -> set[str]:
    return set(predictor.signature.fields)


def _predictor_problems(
    name: str, given: Any, expected: Mapping[str, Any], fields: set[str] | None
) -> list[str]:
    label = "the predictor" if name == "self" else f"predictor '{name}'"
    if not isinstance(given, Mapping):
        return [f"{label}: its state must be an object"]
    problems = [f"{label}: unexpected key '{key}'" for key in given if key not in PREDICTOR_KEYS]
    problems += _signature_problems(label, given.get("signature"), expected["signature"])
    if fields is None:
        return problems
    return problems + _demo_problems(label, given.get("demos", []), fields)


def _signature_problems(label: str, given: Any, expected: Mapping[str, Any]) -> list[str]:
    if not isinstance(given, Mapping) or not isinstance(given.get("fields"), list):
        return [f"{label}: the signature must be an object with a list of fields"]
    instructions = given.get("instructions")
    problems = [] if isinstance(instructions, str) else [f"{label}: instructions must be text"]
    if len(given["fields"]) != len(expected["fields"]):
        count, wanted = len(given["fields"]), len(expected["fields"])
        problems.append(f"{label}: its signature has {count} fields, this program's has {wanted}")
    if not all(_is_field_state(field) for field in given["fields"]):
        problems.append(f"{label}: each field must have a text prefix and description")
    return problems


def _is_field_state(field: Any) -> bool:
    return isinstance(field, Mapping) and all(
        isinstance(field.get(key), str) for key in ("prefix", "description")
    )


def _demo_problems(label: str, demos: Any, fields: set[str]) -> list[str]:
    if not isinstance(demos, list):
        return [f"{label}: demos must be a list"]
    shown = ", ".join(sorted(fields))
    return [
        f"{label}: demo {index} must be an object with some of the fields {shown}"
        for index, demo in enumerate(demos)
        if not isinstance(demo, Mapping) or not fields & set(demo)
    ]


def _load_problems(module: Any, state: Mapping[str, Any]) -> list[str]:
    try:
        load_state(module.deepcopy(), state)
    except Exception as error:
        return [f"the state does not load: {error}"]
    return []


def load_state(module: Any, state: Mapping[str, Any]) -> None:
    """Load a state checked by `state_problems_for`, without its `lm` or unknown keys."""
    module.load_state(sanitized_state(module, state))


def sanitized_state(module: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    predictors = {
        name: {key: value for key, value in predictor.items() if key in PREDICTOR_KEYS}
        | {"lm": None}
        for name, predictor in predictor_states(module, state).items()
    }
    if isinstance(module, require_dspy().Predict):
        return predictors["self"]
    return predictors

"""The `constraints` object of a raw variable, read into its domain with every problem noted.

{"min": 0, "max": 1, "step": 0.25}   FLOAT or INTEGER (also "log": true)
{"choices": ["bm25", "dense", null]}  CHOICE: distinct JSON scalars, 1 and true differ
{"modules": ["predict"]}              MODULE: names of known modules
{}                                    BOOLEAN
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.variables.domains import value_key
from dspex_gql.engine.variables.model import Choices, Domain, FloatRange, IntRange, VariableType
from dspex_gql.errors import FieldProblem

MAX_CHOICES = 1_000
MAX_INTEGER = 2**53
CONSTRAINT_KEYS: Mapping[VariableType, tuple[str, ...]] = {
    VariableType.FLOAT: ("min", "max", "step", "log"),
    VariableType.INTEGER: ("min", "max", "step", "log"),
    VariableType.CHOICE: ("choices",),
    VariableType.MODULE: ("modules",),
    VariableType.BOOLEAN: (),
}


class Problems(list[FieldProblem]):
    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.append(FieldProblem(field, message, code))


def read_domain(
    at: str, kind: VariableType, raw: Any, known_modules: frozenset[str], problems: Problems
) -> Domain | None:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        problems.add(at, "must be an object")
        return None
    unknown_keys(at, raw, CONSTRAINT_KEYS[kind], problems, f"constraint for {kind}")
    if kind in (VariableType.FLOAT, VariableType.INTEGER):
        return _read_range(at, raw, kind == VariableType.INTEGER, problems)
    if kind == VariableType.CHOICE:
        return Choices(tuple(read_values(f"{at}.choices", raw.get("choices"), problems)))
    if kind == VariableType.MODULE:
        return Choices(tuple(_read_modules(f"{at}.modules", raw, known_modules, problems)))
    return Choices((False, True))


def _read_range(at: str, raw: dict[str, Any], integer: bool, problems: Problems) -> Domain | None:
    low = _read_number(f"{at}.min", raw.get("min"), integer, problems)
    high = _read_number(f"{at}.max", raw.get("max"), integer, problems)
    step = (
        None
        if raw.get("step") is None
        else _read_number(f"{at}.step", raw["step"], integer, problems)
    )
    log = raw.get("log", False)
    if not isinstance(log, bool):
        problems.add(f"{at}.log", "must be true or false")
    if low is None or high is None:
        return None
    if low >= high:
        problems.add(f"{at}.min", f"must be less than max ({high})", "out_of_range")
    elif not _finite(high - low):
        problems.add(f"{at}.max", "max - min must be a finite number", "out_of_range")
    if step is not None and (step <= 0 or (low < high and step > high - low)):
        problems.add(f"{at}.step", "must be greater than 0 and at most max - min", "out_of_range")
    if integer:
        _check_integer_log(at, log is True, low, step, problems)
        return IntRange(int(low), int(high), 1 if step is None else int(step), log is True)
    if log is True and low <= 0:
        problems.add(f"{at}.min", "must be greater than 0 when log is true", "out_of_range")
    if log is True and step is not None:
        problems.add(f"{at}.step", "cannot be combined with log")
    return FloatRange(float(low), float(high), None if step is None else float(step), log is True)


def _check_integer_log(
    at: str, log: bool, low: float, step: float | None, problems: Problems
) -> None:
    if log and low < 1:
        problems.add(f"{at}.min", "must be at least 1 when log is true", "out_of_range")
    if log and step not in (None, 1):
        problems.add(f"{at}.step", "must be 1 when log is true")


def _read_number(field: str, value: Any, integer: bool, problems: Problems) -> float | None:
    if value is None:
        problems.add(field, "is required", "required")
    elif integer and (isinstance(value, bool) or not isinstance(value, int)):
        problems.add(field, "must be an integer")
    elif isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        problems.add(field, "must be a finite number")
    elif integer and abs(value) > MAX_INTEGER:
        problems.add(field, f"must be between -{MAX_INTEGER} and {MAX_INTEGER}", "out_of_range")
    else:
        return value
    return None


def read_values(field: str, raw: Any, problems: Problems, noun: str = "choice") -> list[Any]:
    if raw is None or raw == []:
        problems.add(field, f"at least one {noun} is required", "required")
        return []
    if not isinstance(raw, list):
        problems.add(field, "must be a list")
        return []
    if len(raw) > MAX_CHOICES:
        problems.add(field, f"at most {MAX_CHOICES} {noun}s are allowed", "too_many")
    seen: set[tuple[str, Any]] = set()
    for index, value in enumerate(raw):
        if not _is_scalar(value):
            problems.add(f"{field}[{index}]", "must be a string, number, boolean or null")
        elif value_key(value) in seen:
            problems.add(f"{field}[{index}]", f"duplicate {noun} {value!r}", "duplicate")
        else:
            seen.add(value_key(value))
    return raw


def _read_modules(
    field: str, raw: dict[str, Any], known_modules: frozenset[str], problems: Problems
) -> list[Any]:
    modules = read_values(field, raw.get("modules"), problems, noun="module")
    available = ", ".join(sorted(known_modules)) or "none"
    for index, module in enumerate(modules):
        if not isinstance(module, str):
            problems.add(f"{field}[{index}]", "must be a string")
        elif module not in known_modules:
            message = f"unknown module {module!r}; available: {available}"
            problems.add(f"{field}[{index}]", message, "unknown")
    return modules


def unknown_keys(
    at: str, raw: dict[str, Any], allowed: tuple[str, ...], problems: Problems, noun: str = "field"
) -> None:
    for key in raw:
        if key not in allowed:
            expected = ", ".join(allowed) or "nothing"
            problems.add(f"{at}.{key}", f"unknown {noun} {key!r}; expected {expected}")


def _finite(value: float) -> bool:
    return abs(value) <= sys.float_info.max if isinstance(value, int) else math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)

"""Values in a variable's domain: membership, step grids, snapping and cardinality.

A stepped range is the grid `min + k * step` for k = 0..count-1, e.g. FloatRange(0, 1, 0.25)
is 0, 0.25, 0.5, 0.75, 1. Float grid membership allows for rounding noise (0.1 + 2 * 0.1).
"""

from __future__ import annotations

import math
from typing import Any

from dspex_gql.engine.variables.model import Choices, FloatRange, IntRange, Variable, VariableType

GRID_TOLERANCE = 1e-6
MAX_LISTED_VALUES = 20

Problem = tuple[str, str]
"""(code, message), e.g. ("out_of_range", "must be between 0 and 1")."""


def value_key(value: Any) -> tuple[str, Any]:
    """Identity that keeps JSON types apart: `1` and `True` differ, `1` and `1.0` do not."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    return ("other", repr(value))


def is_member(values: tuple[Any, ...], value: Any) -> bool:
    key = value_key(value)
    return any(value_key(candidate) == key for candidate in values)


def grid_count(domain: FloatRange | IntRange) -> int | None:
    """How many values a stepped range holds; None for a continuous float range."""
    if isinstance(domain, IntRange):
        return (domain.max - domain.min) // domain.step + 1
    if domain.step is None:
        return None
    return math.floor((domain.max - domain.min) / domain.step + 1e-9) + 1


def cardinality(variable: Variable) -> int | None:
    domain = variable.domain
    return len(domain.values) if isinstance(domain, Choices) else grid_count(domain)


def grid_value(domain: FloatRange | IntRange, index: int) -> float | int:
    """The index-th grid value, e.g. grid_value(IntRange(1, 10, 3), 2) == 7."""
    if isinstance(domain, IntRange):
        return domain.min + index * domain.step
    assert domain.step is not None
    return min(domain.max, domain.min + index * domain.step)


def snap(domain: FloatRange | IntRange, value: float) -> float | int:
    """The nearest allowed value: clamped into range, and onto the step grid when stepped."""
    count = grid_count(domain)
    if count is None:
        return float(min(domain.max, max(domain.min, value)))
    step = domain.step
    assert step is not None
    index = round((value - domain.min) / step) if math.isfinite(value) else 0
    return grid_value(domain, min(count - 1, max(0, index)))


def check_value(variable: Variable, value: Any) -> Problem | None:
    domain = variable.domain
    if variable.type == VariableType.BOOLEAN:
        return None if isinstance(value, bool) else ("invalid", "must be true or false")
    if isinstance(domain, Choices):
        return None if is_member(domain.values, value) else ("invalid", _not_member(domain))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ("invalid", "must be a number")
    if isinstance(domain, IntRange) and not isinstance(value, int):
        return ("invalid", "must be an integer")
    if not math.isfinite(value):
        return ("invalid", "must be a finite number")
    return _check_range(domain, value)


def _check_range(domain: FloatRange | IntRange, value: float) -> Problem | None:
    if not domain.min <= value <= domain.max:
        return ("out_of_range", f"must be between {domain.min} and {domain.max}")
    if domain.step is None or (isinstance(domain, IntRange) and domain.step == 1):
        return None
    if isinstance(domain, IntRange):
        on_grid = (int(value) - domain.min) % domain.step == 0
    else:
        on_grid = _on_float_grid(domain, value)
    if on_grid:
        return None
    return ("out_of_range", f"must be {domain.min} plus a multiple of {domain.step}")


def _on_float_grid(domain: FloatRange, value: float) -> bool:
    """Within a millionth of a step of a grid value, or within the rounding of numbers this
    large (near 524288 one unit in the last place is already 4e-6 of a step of 3e-5)."""
    assert domain.step is not None
    nearest = domain.min + round((value - domain.min) / domain.step) * domain.step
    rounding = 8 * math.ulp(max(abs(value), abs(domain.min), abs(nearest)))
    return abs(value - nearest) <= max(GRID_TOLERANCE * domain.step, rounding)


def _not_member(domain: Choices) -> str:
    if len(domain.values) <= MAX_LISTED_VALUES:
        return f"must be one of {list(domain.values)}"
    return f"is not one of the {len(domain.values)} allowed values"

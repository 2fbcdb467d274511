"""Random configurations and small random changes to one, respecting domains and dependencies.

    rng = numpy.random.default_rng([seed, 7])
    configuration = sample_configuration(space, rng)
    neighbour = perturb(space, configuration, rng, scale=0.25)

Values are plain JSON (Python int/float/bool/str/None), ints for INTEGER variables, on the
step grid when stepped, drawn uniformly in log space for log-scaled ranges.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dspex_gql.engine.variables.configurations import is_active, ordered
from dspex_gql.engine.variables.domains import snap, value_key
from dspex_gql.engine.variables.model import Choices, FloatRange, IntRange, SearchSpace, Variable

Rng = np.random.Generator


def sample_value(variable: Variable, rng: Rng) -> Any:
    domain = variable.domain
    if isinstance(domain, Choices):
        return copy.deepcopy(domain.values[int(rng.integers(len(domain.values)))])
    if domain.log and domain.min > 0:
        if isinstance(domain, IntRange):  # every integer gets its share of the log scale
            drawn = math.exp(rng.uniform(math.log(domain.min), math.log(domain.max + 1)))
            return _snapped(domain, math.floor(drawn))
        return _snapped(domain, math.exp(rng.uniform(math.log(domain.min), math.log(domain.max))))
    if isinstance(domain, IntRange):
        return _snapped(domain, domain.min + int(rng.integers((domain.max - domain.min) + 1)))
    return _snapped(domain, rng.uniform(domain.min, domain.max))


def sample_configuration(
    space: SearchSpace, rng: Rng, partial: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The active variables in `ordered` order: from `partial` when given there, else random."""
    given = partial or {}
    configuration: dict[str, Any] = {}
    for variable in ordered(space):
        if is_active(space, variable.name, configuration):
            name = variable.name
            configuration[name] = given[name] if name in given else sample_value(variable, rng)
    return configuration


def perturb(
    space: SearchSpace, configuration: Mapping[str, Any], rng: Rng, scale: float
) -> dict[str, Any]:
    """Change one or two active variables: numbers by a gaussian step of `scale` times their range,
    choices to another value; variables this activates are drawn at random."""
    changeable = [
        variable
        for variable in ordered(space)
        if variable.name in configuration and _can_change(variable)
    ]
    if not changeable:
        return dict(configuration)
    count = min(len(changeable), int(rng.integers(1, 3)))
    chosen = rng.choice(len(changeable), size=count, replace=False)
    changed = dict(configuration)
    for index in sorted(int(i) for i in chosen):
        variable = changeable[index]
        changed[variable.name] = _neighbour(variable, configuration[variable.name], rng, scale)
    return sample_configuration(space, rng, changed)


def _can_change(variable: Variable) -> bool:
    domain = variable.domain
    if isinstance(domain, Choices):
        return len(domain.values) > 1
    return domain.max > domain.min


def _neighbour(variable: Variable, value: Any, rng: Rng, scale: float) -> Any:
    domain = variable.domain
    if isinstance(domain, Choices):
        others = [v for v in domain.values if value_key(v) != value_key(value)]
        return copy.deepcopy(others[int(rng.integers(len(others)))])
    return _numeric_neighbour(domain, float(value), rng, scale)


def _numeric_neighbour(
    domain: FloatRange | IntRange, value: float, rng: Rng, scale: float
) -> float | int:
    logarithmic = domain.log and domain.min > 0 and value > 0
    to_axis, from_axis = (math.log, math.exp) if logarithmic else (float, float)
    low, high = to_axis(domain.min), to_axis(domain.max)
    moved = from_axis(to_axis(value) + rng.normal(0.0, scale * (high - low)))
    result = _snapped(domain, moved)
    if result == value and isinstance(domain, IntRange):
        step = domain.step if moved >= value else -domain.step
        result = _snapped(domain, value + step)
        if result == value:
            result = _snapped(domain, value - step)
    return result


def _snapped(domain: FloatRange | IntRange, value: float) -> float | int:
    snapped = snap(domain, value)
    if isinstance(domain, IntRange):
        return round(snapped)
    return float(snapped)

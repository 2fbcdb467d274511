"""Configurations: which variables are active, defaults, completion and validation.

A configuration maps active variable names to values, e.g. `{"retriever": "dense", "top_k": 5}`;
with `top_k` depending on `retriever` being "dense", `{"retriever": "bm25"}` is complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.variables.domains import check_value, is_member, snap
from dspex_gql.engine.variables.model import (
    Choices,
    Dependency,
    IntRange,
    SearchSpace,
    Variable,
    VariableType,
)
from dspex_gql.errors import FieldProblem


def ordered(space: SearchSpace) -> tuple[Variable, ...]:
    """Parents before dependents; otherwise in declaration order."""
    parents = {variable.name: _parents(space, variable.name) for variable in space.variables}
    placed: dict[str, Variable] = {}
    remaining = list(space.variables)
    while remaining:
        ready = next((v for v in remaining if parents[v.name] <= placed.keys()), None)
        chosen = ready or remaining[0]  # only a cyclic (unvalidated) space lacks a ready one
        placed[chosen.name] = chosen
        remaining.remove(chosen)
    return tuple(placed.values())


def is_active(space: SearchSpace, name: str, configuration: Mapping[str, Any]) -> bool:
    """Whether every parent is active and set to an allowed value; a parent missing counts as no."""
    return all(
        dependency.depends_on in configuration
        and is_member(dependency.values, configuration[dependency.depends_on])
        and is_active(space, dependency.depends_on, configuration)
        for dependency in _dependencies_of(space, name)
    )


def default_value(variable: Variable) -> Any:
    if variable.default is not None:
        return variable.default
    domain = variable.domain
    if isinstance(domain, Choices):
        return False if variable.type == VariableType.BOOLEAN else domain.values[0]
    if isinstance(domain, IntRange):
        middle = (
            math.isqrt(domain.min * domain.max) if domain.log else (domain.min + domain.max) // 2
        )
        return snap(domain, middle)
    if domain.log:
        return snap(domain, math.sqrt(domain.min) * math.sqrt(domain.max))
    return snap(domain, domain.min / 2 + domain.max / 2)


def complete(space: SearchSpace, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """Active variables only, in `ordered` order, missing ones set to their defaults."""
    result: dict[str, Any] = {}
    for variable in ordered(space):
        if is_active(space, variable.name, result):
            given = variable.name in configuration
            result[variable.name] = (
                configuration[variable.name] if given else default_value(variable)
            )
    return result


def validate_configuration(space: SearchSpace, configuration: Any) -> list[FieldProblem]:
    """Problems with a configuration's keys and values; missing active variables are fine,
    `complete` gives them their defaults."""
    if not isinstance(configuration, Mapping):
        return [FieldProblem("configuration", "must be an object")]
    problems: list[FieldProblem] = []
    valid: dict[str, Any] = {}
    known = set(space.names)
    for name, value in configuration.items():
        field = f"configuration.{name}"
        if name not in known:
            problems.append(FieldProblem(field, f"unknown variable {name!r}", "unknown"))
        elif problem := check_value(space.variable(name), value):
            problems.append(FieldProblem(field, problem[1], problem[0]))
        else:
            valid[name] = value
    effective = complete(space, valid)
    for name in [name for name in valid if name not in effective]:
        message = f"only used when {_condition(space, name)}"
        problems.append(FieldProblem(f"configuration.{name}", message, "inactive"))
    return problems


def _dependencies_of(space: SearchSpace, name: str) -> list[Dependency]:
    return [dependency for dependency in space.dependencies if dependency.variable == name]


def _parents(space: SearchSpace, name: str) -> set[str]:
    return {dependency.depends_on for dependency in _dependencies_of(space, name)}


def _condition(space: SearchSpace, name: str) -> str:
    """e.g. `retriever is one of ['dense'] and top_k is one of [5, 10]`."""
    return " and ".join(
        f"{dependency.depends_on} is one of {list(dependency.values)}"
        for dependency in _dependencies_of(space, name)
    )

"""Raw JSON variables and dependencies into a `SearchSpace`, reporting every problem.

    build_space(
        [{"name": "temperature", "type": "FLOAT", "constraints": {"min": 0, "max": 1.5}},
         {"name": "retriever", "type": "CHOICE", "constraints": {"choices": ["bm25", "dense"]}},
         {"name": "top_k", "type": "INTEGER", "default": 5, "constraints": {"min": 1, "max": 20}}],
        [{"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}],
        known_modules={"predict", "chain_of_thought"},
    )

Problems name their field, e.g. `variables[2].constraints.min` or `dependencies[0].dependsOn`.
A `"default": null` is the same as no default.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from dspex_gql.engine.variables.constraints import (
    Problems,
    read_domain,
    read_values,
    unknown_keys,
)
from dspex_gql.engine.variables.domains import check_value
from dspex_gql.engine.variables.model import Dependency, SearchSpace, Variable, VariableType
from dspex_gql.errors import FieldProblem

MAX_VARIABLES = 64
MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 1_000
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

VARIABLE_KEYS = ("name", "type", "default", "description", "constraints")
DEPENDENCY_KEYS = ("variable", "dependsOn", "values")


class SpaceInvalid(Exception):
    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(f"{problem.field}: {problem.message}" for problem in self.problems)
        super().__init__(f"Invalid variable space: {details}")


def build_space(
    variables: Any, dependencies: Any, *, known_modules: Collection[str]
) -> SearchSpace:
    problems = Problems()
    named = _read_variables(variables, frozenset(known_modules), problems)
    parsed = _read_dependencies(dependencies, named, problems)
    if cycle := _find_cycle(parsed):
        problems.add("dependencies", f"dependency cycle: {' -> '.join(cycle)}", "cycle")
    if problems:
        raise SpaceInvalid(problems)
    return SearchSpace(tuple(v for v in named.values() if v), tuple(parsed))


def space_to_json(space: SearchSpace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    variables = []
    for variable in space.variables:
        raw: dict[str, Any] = {"name": variable.name, "type": variable.type.value}
        raw["constraints"] = variable.constraints()
        if variable.default is not None:
            raw["default"] = variable.default
        if variable.description is not None:
            raw["description"] = variable.description
        variables.append(raw)
    return variables, [dependency.to_json() for dependency in space.dependencies]


# -- variables ----------------------------------------------------------------------------------


def _read_variables(
    raw: Any, known_modules: frozenset[str], problems: Problems
) -> dict[str, Variable | None]:
    """Variables by name; None for a well-named variable with other problems."""
    if not isinstance(raw, list):
        problems.add("variables", "must be a list")
        return {}
    if not raw:
        problems.add("variables", "at least one variable is required", "required")
    if len(raw) > MAX_VARIABLES:
        problems.add("variables", f"at most {MAX_VARIABLES} variables are allowed", "too_many")
    named: dict[str, Variable | None] = {}
    for index, item in enumerate(raw):
        at = f"variables[{index}]"
        name, variable = _read_variable(at, item, known_modules, problems)
        if name in named:
            problems.add(f"{at}.name", f"duplicate variable name {name!r}", "duplicate")
        elif name is not None:
            named[name] = variable
    return named


def _read_variable(
    at: str, raw: Any, known_modules: frozenset[str], problems: Problems
) -> tuple[str | None, Variable | None]:
    if not isinstance(raw, dict):
        problems.add(at, "must be an object")
        return None, None
    before = len(problems)
    unknown_keys(at, raw, VARIABLE_KEYS, problems)
    name = _read_name(f"{at}.name", raw, problems)
    kind = _read_type(f"{at}.type", raw, problems)
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(f"{at}.description", "must be a string")
    elif description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        problems.add(f"{at}.description", f"at most {MAX_DESCRIPTION_LENGTH} characters")
    if kind is None:
        return name, None
    domain = read_domain(f"{at}.constraints", kind, raw.get("constraints"), known_modules, problems)
    if len(problems) > before or name is None or domain is None:
        return name, None
    variable = Variable(name, kind, domain, description=description)
    default = raw.get("default")
    if default is None:
        return name, variable
    if problem := check_value(variable, default):
        problems.add(f"{at}.default", problem[1], problem[0])
        return name, None
    return name, replace(
        variable, default=float(default) if kind == VariableType.FLOAT else default
    )


def _read_name(field: str, raw: dict[str, Any], problems: Problems) -> str | None:
    name = raw.get("name")
    if name is None:
        problems.add(field, "is required", "required")
    elif not isinstance(name, str):
        problems.add(field, "must be a string")
    elif len(name) > MAX_NAME_LENGTH:
        problems.add(field, f"at most {MAX_NAME_LENGTH} characters")
    elif not NAME_PATTERN.match(name):
        problems.add(field, "must be letters, digits and underscores, not starting with a digit")
    else:
        return name
    return name if isinstance(name, str) else None


def _read_type(field: str, raw: dict[str, Any], problems: Problems) -> VariableType | None:
    kind = raw.get("type")
    if kind is None:
        problems.add(field, "is required", "required")
    elif kind not in list(VariableType):
        problems.add(field, f"must be one of {', '.join(VariableType)}")
    else:
        return VariableType(kind)
    return None


# -- dependencies -------------------------------------------------------------------------------


def _read_dependencies(
    raw: Any, named: Mapping[str, Variable | None], problems: Problems
) -> list[Dependency]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("dependencies", "must be a list")
        return []
    parsed = (
        _read_dependency(f"dependencies[{i}]", item, named, problems) for i, item in enumerate(raw)
    )
    return [dependency for dependency in parsed if dependency]


def _read_dependency(
    at: str, raw: Any, named: Mapping[str, Variable | None], problems: Problems
) -> Dependency | None:
    if not isinstance(raw, dict):
        problems.add(at, "must be an object")
        return None
    unknown_keys(at, raw, DEPENDENCY_KEYS, problems)
    child = _read_reference(f"{at}.variable", raw.get("variable"), named, problems)
    parent = _read_reference(f"{at}.dependsOn", raw.get("dependsOn"), named, problems)
    if child is not None and child == parent:
        problems.add(f"{at}.dependsOn", "a variable cannot depend on itself")
    values = read_values(f"{at}.values", raw.get("values"), problems, noun="value")
    parent_variable = named.get(parent) if parent else None
    if parent_variable is not None:
        for index, value in enumerate(values):
            if problem := check_value(parent_variable, value):
                problems.add(f"{at}.values[{index}]", problem[1], problem[0])
    if child is None or parent is None or child == parent:
        return None
    return Dependency(child, parent, tuple(values))  # kept with bad values: cycles still count


def _read_reference(
    field: str, name: Any, named: Mapping[str, Variable | None], problems: Problems
) -> str | None:
    if name is None:
        problems.add(field, "is required", "required")
    elif not isinstance(name, str):
        problems.add(field, "must be a variable name")
    elif name not in named:
        problems.add(field, f"unknown variable {name!r}", "unknown")
    else:
        return name
    return None


def _find_cycle(dependencies: Iterable[Dependency]) -> list[str] | None:
    """The first cycle in declaration order, e.g. ["a", "b", "a"]: a and b depend on each other."""
    parents: dict[str, list[str]] = {}
    for dependency in dependencies:
        parents.setdefault(dependency.variable, []).append(dependency.depends_on)
    finished: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name not in finished:
            for parent in parents.get(name, []):
                if cycle := visit(parent, [*path, name]):
                    return cycle
            finished.add(name)
        return None

    return next((cycle for name in parents if (cycle := visit(name, []))), None)

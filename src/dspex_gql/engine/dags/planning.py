"""Plan a valid definition: the levels it runs in, the context it needs, the nodes it ends in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.flow import Signatures, context_needs
from dspex_gql.engine.dags.graph import dependency_edges, find_cycles, topological_levels
from dspex_gql.engine.types import FieldType, check_value
from dspex_gql.errors import FieldProblem


class PlanningError(ValueError):
    """The definition cannot be planned: it was not validated (a cycle or an unknown node)."""


def levels(definition: DagDefinition) -> list[list[str]]:
    """Topological levels: every node comes after all its dependencies, each level in definition
    order, e.g. a diamond a → (b, c) → d gives `[["a"], ["b", "c"], ["d"]]`."""
    edges = dependency_edges(definition)
    unknown = sorted({d for node in definition.nodes for d in node.dependencies} - set(edges))
    if unknown:
        raise PlanningError(f"unknown dependencies: {', '.join(unknown)}")
    planned, left = topological_levels(edges)
    if left:
        cycle = find_cycles(edges)[0]
        raise PlanningError(f"cycle: {' -> '.join(cycle)}")
    return planned


def entry_inputs(definition: DagDefinition, signatures: Signatures) -> dict[str, FieldType | None]:
    """The `$context.<key>` values a run needs, each with the type the program input it feeds
    demands (`list[T]` when fanned out); None when only a TRANSFORM uses it (any value)."""
    needed: dict[str, FieldType | None] = {}
    for need in context_needs(definition, signatures):
        if needed.get(need.key) is None:
            needed[need.key] = need.type
    return needed


def sinks(definition: DagDefinition) -> list[str]:
    """The nodes nothing depends on, in definition order: their outputs are the run's result."""
    depended_on = {d for node in definition.nodes for d in node.dependencies}
    names = dict.fromkeys(node.name for node in definition.nodes)
    return [name for name in names if name not in depended_on]


def check_context(
    definition: DagDefinition, signatures: Signatures, context: Mapping[str, Any]
) -> list[FieldProblem]:
    """A run's context against what its entry nodes need: every key present, of the right type."""
    problems = []
    for key, field_type in entry_inputs(definition, signatures).items():
        path = f"context.{key}"
        if key not in context:
            problems.append(FieldProblem(path, f"missing '{key}'", "missing"))
        elif field_type is not None and (message := check_value(field_type, context[key])):
            problems.append(FieldProblem(path, message, "type"))
    return problems

"""Check a parsed definition against the programs it runs, reporting every problem at once.

Problems name the offending part by path (`definition.nodes[1].inputs.question`) and carry a
code: duplicate, unknown_dependency, cycle (`cycle: a -> b -> a`), unknown_program, unknown_node,
not_upstream, unknown_output, unknown_input, missing, type, fan_out, context_type, transform.

Types: a mapping `$nodes.x.f` into input `g` must fit `g` by `compatibility.fits`: the same type;
int into float; a Literal into str/int/float when all its values are of that kind, or into a
Literal holding all its values; list[S] into list[T] when S fits T. Everything else is refused,
among them `list[str]` into `str`, `str` into `list[str]`, `str` into a Literal, float into int.
A fanned-out input (`fanOut`) must map from a list whose item type fits the input; its node's
outputs become lists. Context values are untyped here: the run's context is checked at run time
against `planning.entry_inputs`, and two inputs needing one context key as different types are
refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.flow import ContextNeed, Signatures, output_types, signature_of
from dspex_gql.engine.dags.graph import Edges, dependency_edges, find_cycles, topological_order
from dspex_gql.engine.dags.node_checks import NodeChecks, problem
from dspex_gql.engine.types import FieldType, format_type
from dspex_gql.errors import FieldProblem


def validate(definition: DagDefinition, signatures: Signatures) -> list[FieldProblem]:
    """Every problem of `definition`; `signatures` maps program ids to signatures, None to an
    unknown program (or one of another organization)."""
    edges = dependency_edges(definition)
    order = topological_order(edges)
    problems = [*_duplicates(definition, edges), *_unknown_dependencies(definition, edges)]
    if len(order) < len(edges):  # the others are in or after cycles
        problems += _cycles(definition, edges)
    checks = NodeChecks(edges, output_types(definition, signatures, order), problems)
    for index, node in enumerate(definition.nodes):
        checks.check(index, node, signature_of(node, signatures))
    return problems + list(_context_conflicts(definition, checks.context_needs))


def _duplicates(definition: DagDefinition, edges: Edges) -> Iterator[FieldProblem]:
    if len(edges) == len(definition.nodes):  # a name each
        return
    first: dict[str, int] = {}
    for index, node in enumerate(definition.nodes):
        if node.name in first:
            message = f"duplicate node name '{node.name}' (node {first[node.name]} has it)"
            yield problem(index, "name", message, "duplicate")
        first.setdefault(node.name, index)


def _unknown_dependencies(definition: DagDefinition, edges: Edges) -> Iterator[FieldProblem]:
    named = chain.from_iterable(node.dependencies for node in definition.nodes)
    if all(map(edges.__contains__, named)):
        return
    for index, node in enumerate(definition.nodes):
        for position, dependency in enumerate(node.dependencies):
            if dependency not in edges:
                message = f"unknown node '{dependency}'"
                yield problem(index, f"dependencies[{position}]", message, "unknown_dependency")


def _cycles(definition: DagDefinition, edges: Edges) -> Iterator[FieldProblem]:
    index_of = {node.name: index for index, node in reversed(list(enumerate(definition.nodes)))}
    for cycle in find_cycles(edges):
        message = f"cycle: {' -> '.join(cycle)}"
        yield problem(index_of[cycle[0]], "dependencies", message, "cycle")


def _context_conflicts(
    definition: DagDefinition, needs: list[ContextNeed]
) -> Iterator[FieldProblem]:
    first: dict[str, tuple[FieldType, ContextNeed]] = {}
    for need in needs:
        if need.type is None:
            continue
        known_type, known = first.setdefault(need.key, (need.type, need))
        if known_type != need.type:
            where = f"'{definition.nodes[known.index].name}.{known.target}'"
            message = (
                f"context '{need.key}' is needed as {format_type(need.type)} here"
                f" but as {format_type(known_type)} by {where}"
            )
            yield problem(need.index, f"inputs.{need.target}", message, "context_type")

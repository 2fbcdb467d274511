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

from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.flow import Signatures, context_needs, output_types, signature_of
from dspex_gql.engine.dags.graph import Edges, dependency_edges, find_cycles
from dspex_gql.engine.dags.node_checks import NodeCheck
from dspex_gql.engine.types import FieldType, format_type
from dspex_gql.errors import FieldProblem

ROOT = "definition.nodes"


def validate(definition: DagDefinition, signatures: Signatures) -> list[FieldProblem]:
    """Every problem of `definition`; `signatures` maps program ids to signatures, None to an
    unknown program (or one of another organization)."""
    edges = dependency_edges(definition)
    outputs = output_types(definition, signatures, edges)
    problems = [*_duplicates(definition), *_unknown_dependencies(definition, edges)]
    problems += _cycles(definition, edges)
    for index, node in enumerate(definition.nodes):
        signature = signature_of(node, signatures)
        check = NodeCheck(node, f"{ROOT}[{index}]", signature, edges, outputs)
        problems += check.program()
        problems += check.references()
        problems += check.transform()
    return problems + list(_context_conflicts(definition, signatures))


def _duplicates(definition: DagDefinition) -> Iterator[FieldProblem]:
    first: dict[str, int] = {}
    for index, node in enumerate(definition.nodes):
        if node.name in first:
            message = f"duplicate node name '{node.name}' (node {first[node.name]} has it)"
            yield FieldProblem(f"{ROOT}[{index}].name", message, "duplicate")
        first.setdefault(node.name, index)


def _unknown_dependencies(definition: DagDefinition, edges: Edges) -> Iterator[FieldProblem]:
    for index, node in enumerate(definition.nodes):
        for position, dependency in enumerate(node.dependencies):
            if dependency not in edges:
                path = f"{ROOT}[{index}].dependencies[{position}]"
                yield FieldProblem(path, f"unknown node '{dependency}'", "unknown_dependency")


def _cycles(definition: DagDefinition, edges: Edges) -> Iterator[FieldProblem]:
    cycles = find_cycles(edges)
    if not cycles:
        return
    index_of = {node.name: index for index, node in reversed(list(enumerate(definition.nodes)))}
    for cycle in cycles:
        path = f"{ROOT}[{index_of[cycle[0]]}].dependencies"
        yield FieldProblem(path, f"cycle: {' -> '.join(cycle)}", "cycle")


def _context_conflicts(definition: DagDefinition, signatures: Signatures) -> Iterator[FieldProblem]:
    first: dict[str, tuple[FieldType, str]] = {}
    for need in context_needs(definition, signatures):
        if need.type is None:
            continue
        where = f"'{definition.nodes[need.index].name}.{need.target}'"
        known_type, known_where = first.setdefault(need.key, (need.type, where))
        if known_type != need.type:
            message = (
                f"context '{need.key}' is needed as {format_type(need.type)} here"
                f" but as {format_type(known_type)} by {known_where}"
            )
            path = f"{ROOT}[{need.index}].inputs.{need.target}"
            yield FieldProblem(path, message, "context_type")

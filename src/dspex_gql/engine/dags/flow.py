"""What flows along a definition: the type of each node's outputs and each reference's source.

A type of None means "not known here" (a context value, an unknown program, a node in a cycle)
and is not checked. A fanned-out PROGRAM node's outputs are lists of its signature's output types
(one item per fanned item, in order). A TRANSFORM's outputs take the types of its inputs:
`pick` keeps the picked ones, `rename` renames them, `merge` gives `list[T]` when every input is a
`T`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dspex_gql.engine.dags.definition import (
    DagDefinition,
    NodeDefinition,
    NodeKind,
    Reference,
    TransformOp,
)
from dspex_gql.engine.dags.graph import Edges, topological_levels
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.engine.types import FieldType, ListType

Signatures = Mapping[str, ParsedSignature | None]
Outputs = dict[str, FieldType | None]


def signature_of(node: NodeDefinition, signatures: Signatures) -> ParsedSignature | None:
    return signatures.get(node.program_id) if node.program_id is not None else None


def output_types(
    definition: DagDefinition, signatures: Signatures, edges: Edges
) -> dict[str, Outputs | None]:
    """Each node's outputs and their types (None where the outputs themselves are unknown);
    `edges` are the definition's `graph.dependency_edges`."""
    levels, _ = topological_levels(edges)
    nodes: dict[str, NodeDefinition] = {}
    for node in definition.nodes:
        nodes.setdefault(node.name, node)
    outputs: dict[str, Outputs | None] = {}
    for name in (name for level in levels for name in level):
        outputs[name] = _node_outputs(nodes[name], signatures, outputs)
    return outputs


def source_type(reference: Reference, outputs: Mapping[str, Outputs | None]) -> FieldType | None:
    if reference.node is None:
        return None
    return (outputs.get(reference.node) or {}).get(reference.field)


def _node_outputs(
    node: NodeDefinition, signatures: Signatures, known: Mapping[str, Outputs | None]
) -> Outputs | None:
    if node.kind is NodeKind.TRANSFORM:
        sources = {target: source_type(ref, known) for target, ref in node.inputs.items()}
        return transform_outputs(node, sources)
    signature = signature_of(node, signatures)
    if signature is None:
        return None
    wrap = ListType if node.fan_out is not None else _same
    return {field.name: wrap(field.field_type) for field in signature.outputs}


def _same(field_type: FieldType) -> FieldType:
    return field_type


def transform_outputs(node: NodeDefinition, sources: Outputs) -> Outputs | None:
    transform = node.transform
    if transform is None:
        return None
    if transform.op is TransformOp.PICK:
        return {name: sources.get(name) for name in transform.fields}
    if transform.op is TransformOp.RENAME:
        return {transform.renames.get(name, name): sources.get(name) for name in node.inputs}
    types = set(sources.values())
    item = next(iter(types)) if len(types) == 1 else None
    return {transform.into or "": ListType(item) if item is not None else None}


@dataclass(frozen=True)
class ContextNeed:
    """A `$context.<key>` mapped into `target` of node number `index`, as a value of `type`."""

    key: str
    type: FieldType | None
    index: int
    target: str


def context_needs(definition: DagDefinition, signatures: Signatures) -> list[ContextNeed]:
    """Every use of the run context, in definition order, typed by the program input it feeds."""
    needs = []
    for index, node in enumerate(definition.nodes):
        signature = signature_of(node, signatures)
        types = signature.input_types if signature else {}
        for target, reference in node.inputs.items():
            if reference.node is None:
                needed = types.get(target)
                if needed is not None and node.fan_out == target:
                    needed = ListType(needed)
                needs.append(ContextNeed(reference.field, needed, index, target))
    return needs

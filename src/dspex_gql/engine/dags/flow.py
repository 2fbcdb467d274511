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
    TRANSFORM,
    DagDefinition,
    NodeDefinition,
    Reference,
    TransformOp,
)
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.engine.types import FieldType, ListType

Signatures = Mapping[str, ParsedSignature | None]
Outputs = dict[str, FieldType | None]
_NO_TYPES: Mapping[str, FieldType] = {}


def signature_of(node: NodeDefinition, signatures: Signatures) -> ParsedSignature | None:
    return signatures.get(node.program_id) if node.program_id is not None else None


def input_types_of(signature: ParsedSignature | None) -> Mapping[str, FieldType]:
    return signature.input_types if signature else _NO_TYPES


def output_types(
    definition: DagDefinition, signatures: Signatures, order: list[str]
) -> dict[str, Outputs | None]:
    """Each node's outputs and their types (None where the outputs themselves are unknown),
    worked out in `order`, the definition's `graph.topological_order`."""
    nodes = {node.name: node for node in reversed(definition.nodes)}  # the first of each name
    program_outputs = _ProgramOutputs(signatures)
    outputs: dict[str, Outputs | None] = {}
    for name in order:
        node = nodes[name]
        if node.kind is TRANSFORM:
            sources = {target: source_type(ref, outputs) for target, ref in node.inputs.items()}
            outputs[name] = transform_outputs(node, sources)
        else:
            outputs[name] = program_outputs.of(node)
    return outputs


class _ProgramOutputs:
    """The outputs of a PROGRAM node, built once per program (and per fanned out or not): the
    nodes of one program share them."""

    def __init__(self, signatures: Signatures) -> None:
        self._signatures = signatures
        self._built: dict[tuple[str | None, bool], Outputs | None] = {}

    def of(self, node: NodeDefinition) -> Outputs | None:
        key = (node.program_id, node.fan_out is not None)
        if key not in self._built:
            self._built[key] = self._build(signature_of(node, self._signatures), fanned=key[1])
        return self._built[key]

    @staticmethod
    def _build(signature: ParsedSignature | None, *, fanned: bool) -> Outputs | None:
        if signature is None:
            return None
        if fanned:
            return {field.name: ListType(field.field_type) for field in signature.outputs}
        return {field.name: field.field_type for field in signature.outputs}


def source_type(reference: Reference, outputs: Mapping[str, Outputs | None]) -> FieldType | None:
    if reference.node is None:
        return None
    return (outputs.get(reference.node) or {}).get(reference.field)


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
        types = input_types_of(signature_of(node, signatures))
        for target, reference in node.inputs.items():
            if reference.node is None:
                needs.append(context_need(index, node, target, reference, types))
    return needs


def context_need(
    index: int,
    node: NodeDefinition,
    target: str,
    reference: Reference,
    input_types: Mapping[str, FieldType],
) -> ContextNeed:
    """The need of `reference`, a `$context.<key>` mapped into `target` of `node` (number
    `index`), whose program's inputs have `input_types`."""
    needed = input_types.get(target)
    if needed is not None and node.fan_out == target:
        needed = ListType(needed)
    return ContextNeed(reference.field, needed, index, target)

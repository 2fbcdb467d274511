"""The checks of one node: its program, its input references and their types, its transform."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dspex_gql.engine.dags.compatibility import fits
from dspex_gql.engine.dags.definition import NodeDefinition, NodeKind, Reference, TransformOp
from dspex_gql.engine.dags.flow import Outputs, source_type
from dspex_gql.engine.dags.graph import Edges, upstream
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.engine.types import FieldType, ListType, format_type
from dspex_gql.errors import FieldProblem


@dataclass(slots=True)
class NodeCheck:
    node: NodeDefinition
    path: str  # e.g. "definition.nodes[2]"
    signature: ParsedSignature | None  # of the node's program; None if unknown or a TRANSFORM
    edges: Edges
    outputs: Mapping[str, Outputs | None]

    def problem(self, part: str, message: str, code: str) -> FieldProblem:
        return FieldProblem(f"{self.path}.{part}", message, code)

    def program(self) -> Iterator[FieldProblem]:
        """Unknown program, inputs it does not have, and its inputs left unmapped."""
        program_id, signature = self.node.program_id, self.signature
        if self.node.kind is not NodeKind.PROGRAM or program_id is None:
            return
        if signature is None:
            yield self.problem("programId", f"unknown program '{program_id}'", "unknown_program")
            return
        names = signature.input_names
        for target in self.node.inputs:
            if target not in names:
                message = (
                    f"'{target}' is not an input of program '{program_id}'"
                    f" (inputs: {', '.join(names)})"
                )
                yield self.problem(f"inputs.{target}", message, "unknown_input")
        for name in names:
            if name not in self.node.inputs:
                message = f"input '{name}' of program '{program_id}' is not mapped"
                yield self.problem(f"inputs.{name}", message, "missing")

    def references(self) -> Iterator[FieldProblem]:
        """Each `$nodes.*` reference: known, upstream, an existing output of a fitting type."""
        targets = self.signature.input_types if self.signature else {}
        ancestors: set[str] | None = None
        for target, reference in self.node.inputs.items():
            if reference.node is None:
                continue
            if reference.node not in self.node.dependencies and ancestors is None:
                ancestors = upstream(self.edges, self.node.name)  # only past direct dependencies
            problem = self._source_problem(target, reference, ancestors or set())
            if problem is None and target in targets:
                problem = self._type_problem(target, reference, targets[target])
            if problem is not None:
                yield problem

    def _source_problem(
        self, target: str, reference: Reference, ancestors: set[str]
    ) -> FieldProblem | None:
        part, source = f"inputs.{target}", reference.node or ""
        if source not in self.edges:
            return self.problem(part, f"unknown node '{source}'", "unknown_node")
        if source not in self.node.dependencies and source not in ancestors:
            message = f"'{source}' is not upstream of '{self.node.name}': add it to dependencies"
            return self.problem(part, message, "not_upstream")
        outputs = self.outputs.get(source)
        if outputs is not None and reference.field not in outputs:
            message = (
                f"'{source}' has no output '{reference.field}' (outputs: {', '.join(outputs)})"
            )
            return self.problem(part, message, "unknown_output")
        return None

    def _type_problem(
        self, target: str, reference: Reference, target_type: FieldType
    ) -> FieldProblem | None:
        source_field = source_type(reference, self.outputs)
        if source_field is None:
            return None
        shown, part = reference.label, f"inputs.{target}"
        if self.node.fan_out == target:
            if not isinstance(source_field, ListType):
                message = (
                    f"fanOut '{target}' needs a list, but {shown} is {format_type(source_field)}"
                )
                return self.problem(part, message, "fan_out")
            shown, source_field = f"each item of {shown}", source_field.item
        if fits(source_field, target_type):
            return None
        message = (
            f"{shown} ({format_type(source_field)}) does not fit"
            f" input '{target}' ({format_type(target_type)})"
        )
        return self.problem(part, message, "type")

    def transform(self) -> Iterator[FieldProblem]:
        """A TRANSFORM's op names only its inputs, merges one type, and does not fan out."""
        transform = self.node.transform
        if self.node.kind is not NodeKind.TRANSFORM or transform is None:
            return
        if self.node.fan_out is not None:
            yield self.problem("fanOut", "only PROGRAM nodes fan out", "fan_out")
        if not self.node.inputs:
            yield self.problem("inputs", "a TRANSFORM node needs inputs", "transform")
        named = transform.fields if transform.op is TransformOp.PICK else tuple(transform.renames)
        part = "fields" if transform.op is TransformOp.PICK else "renames"
        for name in named:
            if name not in self.node.inputs:
                message = f"'{name}' is not an input of this transform"
                yield self.problem(f"transform.{part}", message, "transform")
        if transform.op is TransformOp.MERGE:
            yield from self._merge_problems()

    def _merge_problems(self) -> Iterator[FieldProblem]:
        sources = {
            reference.label: source_type(reference, self.outputs)
            for reference in self.node.inputs.values()
        }
        known = {label: kind for label, kind in sources.items() if kind is not None}
        if len(set(known.values())) > 1:
            shown = ", ".join(f"{label} is {format_type(kind)}" for label, kind in known.items())
            yield self.problem("transform.into", f"merge needs inputs of one type: {shown}", "type")

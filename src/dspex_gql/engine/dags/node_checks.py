"""The checks of each node: its program, its input references and their types, its transform."""

from __future__ import annotations

from collections.abc import Mapping

from dspex_gql.engine.dags.compatibility import fits
from dspex_gql.engine.dags.definition import (
    PROGRAM,
    TRANSFORM,
    NodeDefinition,
    Reference,
    Transform,
    TransformOp,
)
from dspex_gql.engine.dags.flow import (
    ContextNeed,
    Outputs,
    context_need,
    input_types_of,
    source_type,
)
from dspex_gql.engine.dags.graph import Edges, upstream
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.engine.types import FieldType, ListType, format_type
from dspex_gql.errors import FieldProblem

ROOT = "definition.nodes"
Found = tuple[str, str]  # a problem's message and code


def problem(index: int, part: str, message: str, code: str) -> FieldProblem:
    """A problem of `part` of node number `index`, e.g. `definition.nodes[2].inputs.question`."""
    return FieldProblem(f"{ROOT}[{index}].{part}", message, code)


class NodeChecks:
    """Checks the nodes of one definition, one `check` a node: problems go to `problems`, the
    uses of the run context to `context_needs`, in definition order."""

    def __init__(
        self, edges: Edges, outputs: Mapping[str, Outputs | None], problems: list[FieldProblem]
    ) -> None:
        self.edges = edges
        self.outputs = outputs
        self.problems = problems
        self.context_needs: list[ContextNeed] = []
        self._upstream: dict[str, set[str]] = {}

    def check(self, index: int, node: NodeDefinition, signature: ParsedSignature | None) -> None:
        """`signature`: of the node's program; None if unknown or a TRANSFORM."""
        if node.kind is PROGRAM and node.program_id is not None:
            self._program(index, node, node.program_id, signature)
        self._references(index, node, input_types_of(signature))
        if node.kind is TRANSFORM and node.transform is not None:
            self._transform(index, node, node.transform)

    def _program(
        self, index: int, node: NodeDefinition, program_id: str, signature: ParsedSignature | None
    ) -> None:
        """Unknown program, inputs it does not have, and its inputs left unmapped."""
        if signature is None:
            message = f"unknown program '{program_id}'"
            self.problems.append(problem(index, "programId", message, "unknown_program"))
            return
        names = signature.input_names
        for target in node.inputs:
            if target not in names:
                message = (
                    f"'{target}' is not an input of program '{program_id}'"
                    f" (inputs: {', '.join(names)})"
                )
                self.problems.append(problem(index, f"inputs.{target}", message, "unknown_input"))
        for name in names:
            if name not in node.inputs:
                message = f"input '{name}' of program '{program_id}' is not mapped"
                self.problems.append(problem(index, f"inputs.{name}", message, "missing"))

    def _references(
        self, index: int, node: NodeDefinition, input_types: Mapping[str, FieldType]
    ) -> None:
        """Each `$nodes.*` reference: known, upstream, an existing output of a fitting type.
        Each `$context.*` one is a context need."""
        for target, reference in node.inputs.items():
            if reference.node is None:
                need = context_need(index, node, target, reference, input_types)
                self.context_needs.append(need)
            elif found := self._reference_problem(node, target, reference, input_types):
                self.problems.append(problem(index, f"inputs.{target}", *found))

    def _reference_problem(
        self,
        node: NodeDefinition,
        target: str,
        reference: Reference,
        input_types: Mapping[str, FieldType],
    ) -> Found | None:
        source = reference.node or ""
        if source not in self.edges:
            return f"unknown node '{source}'", "unknown_node"
        if source not in node.dependencies and source not in self._ancestors(node.name):
            message = f"'{source}' is not upstream of '{node.name}': add it to dependencies"
            return message, "not_upstream"
        outputs = self.outputs.get(source)
        if outputs is None:
            return None
        if reference.field not in outputs:
            message = f"'{source}' has no output '{reference.field}'"
            return f"{message} (outputs: {', '.join(outputs)})", "unknown_output"
        source_field, target_type = outputs[reference.field], input_types.get(target)
        if source_field is None or target_type is None:
            return None
        return _type_problem(node, target, reference, source_field, target_type)

    def _ancestors(self, name: str) -> set[str]:
        if name not in self._upstream:
            self._upstream[name] = upstream(self.edges, name)
        return self._upstream[name]

    def _transform(self, index: int, node: NodeDefinition, transform: Transform) -> None:
        """A TRANSFORM's op names only its inputs, merges one type, and does not fan out."""
        if node.fan_out is not None:
            self.problems.append(problem(index, "fanOut", "only PROGRAM nodes fan out", "fan_out"))
        if not node.inputs:
            message = "a TRANSFORM node needs inputs"
            self.problems.append(problem(index, "inputs", message, "transform"))
        named = transform.fields if transform.op is TransformOp.PICK else tuple(transform.renames)
        part = "fields" if transform.op is TransformOp.PICK else "renames"
        for name in named:
            if name not in node.inputs:
                message = f"'{name}' is not an input of this transform"
                self.problems.append(problem(index, f"transform.{part}", message, "transform"))
        if transform.op is TransformOp.MERGE and (found := self._merge_problem(node)):
            self.problems.append(problem(index, "transform.into", *found))

    def _merge_problem(self, node: NodeDefinition) -> Found | None:
        sources = {
            reference.label: source_type(reference, self.outputs)
            for reference in node.inputs.values()
        }
        known = {label: kind for label, kind in sources.items() if kind is not None}
        if len(set(known.values())) <= 1:
            return None
        shown = ", ".join(f"{label} is {format_type(kind)}" for label, kind in known.items())
        return f"merge needs inputs of one type: {shown}", "type"


def _type_problem(
    node: NodeDefinition,
    target: str,
    reference: Reference,
    source_field: FieldType,
    target_type: FieldType,
) -> Found | None:
    fanned = node.fan_out == target
    if fanned:
        if not isinstance(source_field, ListType):
            shown = format_type(source_field)
            return f"fanOut '{target}' needs a list, but {reference.label} is {shown}", "fan_out"
        source_field = source_field.item
    if fits(source_field, target_type):
        return None
    shown = f"each item of {reference.label}" if fanned else reference.label
    message = (
        f"{shown} ({format_type(source_field)}) does not fit"
        f" input '{target}' ({format_type(target_type)})"
    )
    return message, "type"

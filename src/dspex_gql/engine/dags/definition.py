"""The model of a DAG definition: nodes, their input references and transforms.

A node's `inputs` map each target field to a reference, written `$context.<key>` (the run's
context) or `$nodes.<node>.<output>` (an upstream node's output). `parsing.parse_definition`
builds these from the JSON a client sends; `validation.validate` checks them against the
programs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_FIELD = r"[A-Za-z][A-Za-z0-9_]{0,63}"
_CONTEXT_REFERENCE = re.compile(rf"\$context\.({_FIELD})")
_NODE_REFERENCE = re.compile(rf"\$nodes\.({NAME_PATTERN.pattern})\.({_FIELD})")
FIELD_PATTERN = re.compile(_FIELD)


class NodeKind(StrEnum):
    PROGRAM = "PROGRAM"
    TRANSFORM = "TRANSFORM"


# For the hot paths of parsing and validation: Python 3.11 takes ~100 ns to look a member up
# on its enum, ~10 ns to read a module's global.
PROGRAM, TRANSFORM = NodeKind.PROGRAM, NodeKind.TRANSFORM


class TransformOp(StrEnum):
    PICK = "pick"  # keep only `fields` of the inputs
    RENAME = "rename"  # rename inputs by `renames` (old → new); the others stay as they are
    MERGE = "merge"  # gather every input, in mapping order, into one list output `into`


@dataclass(frozen=True)
class Transform:
    op: TransformOp
    fields: tuple[str, ...] = ()
    renames: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    into: str | None = None


@dataclass(frozen=True)
class Reference:
    """`$context.question` → Reference(None, "question"); `$nodes.a.x` → Reference("a", "x")."""

    node: str | None
    field: str

    def __str__(self) -> str:
        return f"$context.{self.field}" if self.node is None else f"$nodes.{self.node}.{self.field}"

    @property
    def label(self) -> str:
        """How messages name the source: `context 'question'` or `'a.x'`."""
        return f"context '{self.field}'" if self.node is None else f"'{self.node}.{self.field}'"


@lru_cache(maxsize=4096)
def parse_reference(text: str) -> Reference | None:
    """The reference `text` spells, or None when it is not one (remembered: definitions are
    parsed again at every run and every read of their nodes)."""
    if match := _CONTEXT_REFERENCE.fullmatch(text):
        return Reference(None, match.group(1))
    if match := _NODE_REFERENCE.fullmatch(text):
        return Reference(match.group(1), match.group(2))
    return None


@lru_cache(maxsize=4096)
def is_field_name(text: str) -> bool:
    """Whether `text` may name an input or an output (remembered, as `parse_reference`)."""
    return FIELD_PATTERN.fullmatch(text) is not None


@lru_cache(maxsize=4096)
def is_node_name(text: str) -> bool:
    """Whether `text` may name a node (remembered, as `parse_reference`)."""
    return NAME_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class NodeDefinition:
    name: str
    dependencies: tuple[str, ...] = ()
    kind: NodeKind = NodeKind.PROGRAM
    program_id: str | None = None
    inputs: Mapping[str, Reference] = field(default_factory=lambda: MappingProxyType({}))
    """Each target field's reference, parsed once (`str(reference)` spells it as written)."""
    transform: Transform | None = None
    max_retries: int = 0
    timeout_seconds: float | None = None
    fan_out: str | None = None


@dataclass(frozen=True)
class DagDefinition:
    nodes: tuple[NodeDefinition, ...]

    def node(self, name: str) -> NodeDefinition | None:
        return next((node for node in self.nodes if node.name == name), None)

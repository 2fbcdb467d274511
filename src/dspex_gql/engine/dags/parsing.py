"""Read a DAG definition from the JSON a client sends, reporting every problem at once.

Keys are the API's (`programId`, `maxRetries`, `timeoutSeconds`, `fanOut`); problems name them by
path, e.g. `definition.nodes[2].name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dspex_gql.engine.dags.definition import (
    PROGRAM,
    TRANSFORM,
    DagDefinition,
    NodeDefinition,
    NodeKind,
    Reference,
    Transform,
    TransformOp,
    is_field_name,
    is_node_name,
    parse_reference,
)
from dspex_gql.engine.types import describe_value
from dspex_gql.errors import FieldProblem

MAX_NODES = 1_000
MAX_RETRIES = 10
MAX_TIMEOUT_SECONDS = 86_400.0
_NODE_KEYS = {
    "name", "dependencies", "kind", "programId", "inputs", "transform", "maxRetries",
    "timeoutSeconds", "fanOut",
}  # fmt: skip
_TRANSFORM_KEYS = {"op", "fields", "renames", "into"}
_NAME_HELP = "a letter or '_', then letters, digits, '_' or '-'; at most 64"
_REFERENCE_HELP = "write $context.<key> or $nodes.<node>.<output>"
_NO_INPUTS: dict[str, Any] = {}


class DefinitionError(ValueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = tuple(problems)


class _Problems(list[FieldProblem]):
    """Problems found so far. Paths are built only for a problem: a node's readers get the node's
    index and name their own part (`at(index, "maxRetries", …)`)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path  # of the definition

    def add(self, path: str, message: str, code: str = "invalid") -> None:
        self.append(FieldProblem(path, message, code))

    def at(self, index: int, part: str, message: str, code: str = "invalid") -> None:
        """A problem of `part` of node number `index` (of the node itself when `part` is "")."""
        node = f"{self.path}.nodes[{index}]"
        self.add(f"{node}.{part}" if part else node, message, code)

    def wrong_type(self, index: int, part: str, label: str, value: Any) -> None:
        self.at(index, part, _expected(label, value), "type")

    def unknown_keys(self, raw: dict[str, Any], known: set[str], index: int, part: str) -> None:
        for key in raw:
            if key not in known:
                self.at(index, f"{part}{key}", f"unknown field '{key}'", "unknown")


def _expected(label: str, value: Any) -> str:
    return f"expected {label}, got {describe_value(value)}"


def parse_definition(raw: Any, path: str = "definition") -> DagDefinition:
    """Build a definition from client JSON; raises `DefinitionError` with every problem found."""
    problems = _Problems(path)
    nodes = _read_nodes(raw, problems)
    if problems:
        raise DefinitionError(problems)
    return DagDefinition(nodes)


def _read_nodes(raw: Any, problems: _Problems) -> tuple[NodeDefinition, ...]:
    path = problems.path
    if not isinstance(raw, dict):
        problems.add(path, _expected("an object with 'nodes'", raw), "type")
        return ()
    for key in raw:
        if key != "nodes":
            problems.add(f"{path}.{key}", f"unknown field '{key}'", "unknown")
    nodes = raw.get("nodes")
    if not isinstance(nodes, list):
        problems.add(f"{path}.nodes", _expected("a list of nodes", nodes), "type")
        return ()
    if not nodes:
        problems.add(f"{path}.nodes", "a DAG needs at least one node", "required")
    elif len(nodes) > MAX_NODES:
        problems.add(f"{path}.nodes", f"at most {MAX_NODES} nodes are allowed", "too_many")
    read = []
    for index, node in enumerate(nodes):
        if (found := _read_node(node, index, problems)) is not None:
            read.append(found)
    return tuple(read)


def _read_node(raw: Any, index: int, problems: _Problems) -> NodeDefinition | None:
    if not isinstance(raw, dict):
        problems.wrong_type(index, "", "an object", raw)
        return None
    before = len(problems)
    if not raw.keys() <= _NODE_KEYS:
        problems.unknown_keys(raw, _NODE_KEYS, index, "")
    # the problems come in the order of these reads
    kind = _read_kind(raw.get("kind", "PROGRAM"), index, problems)
    inputs = _read_inputs(raw.get("inputs", _NO_INPUTS), index, problems)
    name = _read_name(raw.get("name"), index, problems)
    dependencies = _read_dependencies(raw.get("dependencies", ()), index, problems)
    program_id = _read_program_id(raw.get("programId"), kind, index, problems)
    transform = _read_node_transform(raw.get("transform"), kind, index, problems)
    max_retries = _read_retries(raw.get("maxRetries", 0), index, problems)
    timeout_seconds = _read_timeout(raw.get("timeoutSeconds"), index, problems)
    fan_out = _read_fan_out(raw.get("fanOut"), inputs, index, problems)
    node = NodeDefinition(  # positional, in field order: keywords cost a dict per node
        name,
        dependencies,
        kind,
        program_id,
        MappingProxyType(inputs),
        transform,
        max_retries,
        timeout_seconds,
        fan_out,
    )
    return node if len(problems) == before else None


def _read_name(raw: Any, index: int, problems: _Problems) -> str:
    if isinstance(raw, str):
        if not is_node_name(raw):
            message = f"'{raw}' is not a valid node name ({_NAME_HELP})"
            problems.at(index, "name", message, "invalid_name")
        return raw
    if raw is None:
        problems.at(index, "name", "name is required", "required")
    else:
        problems.wrong_type(index, "name", "a string", raw)
    return ""


def _read_dependencies(raw: Any, index: int, problems: _Problems) -> tuple[str, ...]:
    if type(raw) is tuple:  # the default: none given
        return ()
    if not isinstance(raw, list):
        problems.wrong_type(index, "dependencies", "a list of node names", raw)
        return ()
    names = [item for item in raw if isinstance(item, str)]
    if len(names) < len(raw):
        for position, item in enumerate(raw):
            if not isinstance(item, str):
                problems.wrong_type(index, f"dependencies[{position}]", "a node name", item)
    return tuple(names)


def _read_kind(raw: Any, index: int, problems: _Problems) -> NodeKind:
    if raw == "PROGRAM":
        return PROGRAM
    if raw == "TRANSFORM":
        return TRANSFORM
    problems.at(index, "kind", f"kind must be PROGRAM or TRANSFORM, got {raw!r}", "invalid")
    return PROGRAM


def _read_program_id(value: Any, kind: NodeKind, index: int, problems: _Problems) -> str | None:
    if kind is TRANSFORM:
        if value is not None:
            problems.at(index, "programId", "a TRANSFORM node runs no program", "invalid")
        return None
    if value is None or value == "":
        problems.at(index, "programId", "a PROGRAM node needs a programId", "required")
        return None
    if isinstance(value, str):
        return value
    problems.wrong_type(index, "programId", "a string", value)
    return None


def _read_inputs(raw: Any, index: int, problems: _Problems) -> dict[str, Reference]:
    if not isinstance(raw, dict):
        problems.wrong_type(index, "inputs", "an object of field → reference", raw)
        return {}
    references = {}
    for target, text in raw.items():
        if not is_field_name(target):
            message = f"'{target}' is not a valid field name"
            problems.at(index, f"inputs.{target}", message, "invalid_name")
        if not isinstance(text, str):
            problems.wrong_type(index, f"inputs.{target}", "a reference string", text)
        elif (reference := parse_reference(text)) is not None:
            references[target] = reference
        else:
            message = f"'{text}' is not a reference: {_REFERENCE_HELP}"
            problems.at(index, f"inputs.{target}", message, "syntax")
    return references


def _read_node_transform(
    value: Any, kind: NodeKind, index: int, problems: _Problems
) -> Transform | None:
    if kind is PROGRAM:
        if value is not None:
            problems.at(index, "transform", "only a TRANSFORM node has a transform", "invalid")
        return None
    if value is None:
        problems.at(index, "transform", "a TRANSFORM node needs a transform", "required")
        return None
    return _read_transform(value, index, problems)


def _read_transform(raw: Any, index: int, problems: _Problems) -> Transform | None:
    if not isinstance(raw, dict):
        problems.wrong_type(index, "transform", "an object with 'op'", raw)
        return None
    problems.unknown_keys(raw, _TRANSFORM_KEYS, index, "transform.")
    op = raw.get("op")
    if op == "pick":
        return Transform(TransformOp.PICK, fields=_read_names(raw.get("fields"), index, problems))
    if op == "rename":
        return Transform(
            TransformOp.RENAME, renames=_read_renames(raw.get("renames"), index, problems)
        )
    if op == "merge":
        into = raw.get("into")
        if not (isinstance(into, str) and is_field_name(into)):
            message = "merge needs 'into', the name of its list output"
            problems.at(index, "transform.into", message, "required")
            return None
        return Transform(TransformOp.MERGE, into=into)
    problems.at(index, "transform.op", f"op must be pick, rename or merge, got {op!r}", "invalid")
    return None


def _read_names(raw: Any, index: int, problems: _Problems) -> tuple[str, ...]:
    valid = isinstance(raw, list) and raw and all(isinstance(name, str) for name in raw)
    if not valid:
        message = "pick needs 'fields', a non-empty list of input names"
        problems.at(index, "transform.fields", message, "required")
        return ()
    return tuple(raw)


def _read_renames(raw: Any, index: int, problems: _Problems) -> Mapping[str, str]:
    valid = isinstance(raw, dict) and raw and all(isinstance(new, str) for new in raw.values())
    if not valid:
        message = "rename needs 'renames', an object of old → new name"
        problems.at(index, "transform.renames", message, "required")
        return MappingProxyType({})
    for old, new in raw.items():
        if not is_field_name(new):
            message = f"'{new}' is not a valid field name"
            problems.at(index, f"transform.renames.{old}", message, "invalid_name")
    return MappingProxyType(dict(raw))


def _read_retries(raw: Any, index: int, problems: _Problems) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        problems.wrong_type(index, "maxRetries", "an integer", raw)
        return 0
    if not 0 <= raw <= MAX_RETRIES:
        message = f"maxRetries must be between 0 and {MAX_RETRIES}"
        problems.at(index, "maxRetries", message, "out_of_range")
    return raw


def _read_timeout(raw: Any, index: int, problems: _Problems) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.wrong_type(index, "timeoutSeconds", "a number of seconds", raw)
        return None
    if not 0 < raw <= MAX_TIMEOUT_SECONDS:
        message = f"timeoutSeconds must be above 0 and at most {MAX_TIMEOUT_SECONDS:g}"
        problems.at(index, "timeoutSeconds", message, "out_of_range")
    return float(raw)


def _read_fan_out(
    raw: Any, inputs: Mapping[str, Reference], index: int, problems: _Problems
) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        problems.wrong_type(index, "fanOut", "an input name", raw)
        return None
    if raw not in inputs:
        message = f"fanOut '{raw}' must be one of the node's inputs"
        problems.at(index, "fanOut", message, "unknown")
    return str(raw)

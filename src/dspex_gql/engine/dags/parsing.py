"""Read a DAG definition from the JSON a client sends, reporting every problem at once.

Keys are the API's (`programId`, `maxRetries`, `timeoutSeconds`, `fanOut`); problems name them by
path, e.g. `definition.nodes[2].name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, UnionType
from typing import Any

from dspex_gql.engine.dags.definition import (
    FIELD_PATTERN,
    NAME_PATTERN,
    DagDefinition,
    NodeDefinition,
    NodeKind,
    Reference,
    Transform,
    TransformOp,
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
    path and name their own part (`expect(value, …, path, "maxRetries")`)."""

    def add(self, path: str, message: str, code: str = "invalid") -> None:
        self.append(FieldProblem(path, message, code))

    def expect(
        self, value: Any, kind: type | UnionType, label: str, path: str, part: str = ""
    ) -> bool:
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return True
        where = f"{path}.{part}" if part else path
        self.add(where, f"expected {label}, got {describe_value(value)}", "type")
        return False


def parse_definition(raw: Any, path: str = "definition") -> DagDefinition:
    """Build a definition from client JSON; raises `DefinitionError` with every problem found."""
    problems = _Problems()
    nodes = _read_nodes(raw, path, problems)
    if problems:
        raise DefinitionError(problems)
    return DagDefinition(nodes)


def _read_nodes(raw: Any, path: str, problems: _Problems) -> tuple[NodeDefinition, ...]:
    if not problems.expect(raw, dict, "an object with 'nodes'", path):
        return ()
    problems.extend(_unknown_keys(raw, {"nodes"}, path))
    nodes = raw.get("nodes")
    if not problems.expect(nodes, list, "a list of nodes", path, "nodes"):
        return ()
    if not nodes:
        problems.add(f"{path}.nodes", "a DAG needs at least one node", "required")
    elif len(nodes) > MAX_NODES:
        problems.add(f"{path}.nodes", f"at most {MAX_NODES} nodes are allowed", "too_many")
    read = (_read_node(node, f"{path}.nodes[{i}]", problems) for i, node in enumerate(nodes))
    return tuple(node for node in read if node is not None)


def _unknown_keys(raw: dict[str, Any], known: set[str], path: str) -> list[FieldProblem]:
    return [
        FieldProblem(f"{path}.{key}", f"unknown field '{key}'", "unknown")
        for key in raw
        if key not in known
    ]


def _read_node(raw: Any, path: str, problems: _Problems) -> NodeDefinition | None:
    if not problems.expect(raw, dict, "an object", path):
        return None
    before = len(problems)
    if not raw.keys() <= _NODE_KEYS:
        problems.extend(_unknown_keys(raw, _NODE_KEYS, path))
    kind = _read_kind(raw.get("kind", "PROGRAM"), path, problems)
    inputs = _read_inputs(raw.get("inputs", _NO_INPUTS), path, problems)
    node = NodeDefinition(
        name=_read_name(raw.get("name"), path, problems),
        dependencies=_read_dependencies(raw.get("dependencies", ()), path, problems),
        kind=kind,
        program_id=_read_program_id(raw.get("programId"), kind, path, problems),
        inputs=MappingProxyType(inputs),
        transform=_read_node_transform(raw.get("transform"), kind, path, problems),
        max_retries=_read_retries(raw.get("maxRetries", 0), path, problems),
        timeout_seconds=_read_timeout(raw.get("timeoutSeconds"), path, problems),
        fan_out=_read_fan_out(raw.get("fanOut"), inputs, path, problems),
    )
    return node if len(problems) == before else None


def _read_name(raw: Any, path: str, problems: _Problems) -> str:
    if raw is None:
        problems.add(f"{path}.name", "name is required", "required")
    elif problems.expect(raw, str, "a string", path, "name") and not NAME_PATTERN.fullmatch(raw):
        message = f"'{raw}' is not a valid node name ({_NAME_HELP})"
        problems.add(f"{path}.name", message, "invalid_name")
    return raw if isinstance(raw, str) else ""


def _read_dependencies(raw: Any, path: str, problems: _Problems) -> tuple[str, ...]:
    if type(raw) is tuple:  # the default: none given
        return ()
    if not problems.expect(raw, list, "a list of node names", path, "dependencies"):
        return ()
    names = tuple(item for item in raw if isinstance(item, str))
    if len(names) < len(raw):
        for index, item in enumerate(raw):
            problems.expect(item, str, "a node name", path, f"dependencies[{index}]")
    return names


def _read_kind(raw: Any, path: str, problems: _Problems) -> NodeKind:
    if raw == "PROGRAM":
        return NodeKind.PROGRAM
    if raw == "TRANSFORM":
        return NodeKind.TRANSFORM
    problems.add(f"{path}.kind", f"kind must be PROGRAM or TRANSFORM, got {raw!r}", "invalid")
    return NodeKind.PROGRAM


def _read_program_id(value: Any, kind: NodeKind, path: str, problems: _Problems) -> str | None:
    if kind is NodeKind.TRANSFORM:
        if value is not None:
            problems.add(f"{path}.programId", "a TRANSFORM node runs no program", "invalid")
        return None
    if value is None or value == "":
        problems.add(f"{path}.programId", "a PROGRAM node needs a programId", "required")
        return None
    return value if problems.expect(value, str, "a string", path, "programId") else None


def _read_inputs(raw: Any, path: str, problems: _Problems) -> dict[str, Reference]:
    if not problems.expect(raw, dict, "an object of field → reference", path, "inputs"):
        return {}
    references = {}
    for target, text in raw.items():
        if not FIELD_PATTERN.fullmatch(target):
            message = f"'{target}' is not a valid field name"
            problems.add(f"{path}.inputs.{target}", message, "invalid_name")
        if not problems.expect(text, str, "a reference string", path, f"inputs.{target}"):
            continue
        reference = parse_reference(text)
        if reference is None:
            message = f"'{text}' is not a reference: {_REFERENCE_HELP}"
            problems.add(f"{path}.inputs.{target}", message, "syntax")
        else:
            references[target] = reference
    return references


def _read_node_transform(
    value: Any, kind: NodeKind, path: str, problems: _Problems
) -> Transform | None:
    if kind is NodeKind.PROGRAM:
        if value is not None:
            problems.add(f"{path}.transform", "only a TRANSFORM node has a transform", "invalid")
        return None
    if value is None:
        problems.add(f"{path}.transform", "a TRANSFORM node needs a transform", "required")
        return None
    return _read_transform(value, f"{path}.transform", problems)


def _read_transform(raw: Any, path: str, problems: _Problems) -> Transform | None:
    if not problems.expect(raw, dict, "an object with 'op'", path):
        return None
    problems.extend(_unknown_keys(raw, _TRANSFORM_KEYS, path))
    op = raw.get("op")
    if op == "pick":
        return Transform(TransformOp.PICK, fields=_read_names(raw.get("fields"), path, problems))
    if op == "rename":
        return Transform(
            TransformOp.RENAME, renames=_read_renames(raw.get("renames"), path, problems)
        )
    if op == "merge":
        into = raw.get("into")
        if not (isinstance(into, str) and FIELD_PATTERN.fullmatch(into)):
            problems.add(
                f"{path}.into", "merge needs 'into', the name of its list output", "required"
            )
            return None
        return Transform(TransformOp.MERGE, into=into)
    problems.add(f"{path}.op", f"op must be pick, rename or merge, got {op!r}", "invalid")
    return None


def _read_names(raw: Any, path: str, problems: _Problems) -> tuple[str, ...]:
    valid = isinstance(raw, list) and raw and all(isinstance(name, str) for name in raw)
    if not valid:
        problems.add(
            f"{path}.fields", "pick needs 'fields', a non-empty list of input names", "required"
        )
        return ()
    return tuple(raw)


def _read_renames(raw: Any, path: str, problems: _Problems) -> Mapping[str, str]:
    valid = isinstance(raw, dict) and raw and all(isinstance(new, str) for new in raw.values())
    if not valid:
        problems.add(
            f"{path}.renames", "rename needs 'renames', an object of old → new name", "required"
        )
        return MappingProxyType({})
    for old, new in raw.items():
        if not FIELD_PATTERN.fullmatch(new):
            problems.add(
                f"{path}.renames.{old}", f"'{new}' is not a valid field name", "invalid_name"
            )
    return MappingProxyType(dict(raw))


def _read_retries(raw: Any, path: str, problems: _Problems) -> int:
    if problems.expect(raw, int, "an integer", path, "maxRetries") and not 0 <= raw <= MAX_RETRIES:
        message = f"maxRetries must be between 0 and {MAX_RETRIES}"
        problems.add(f"{path}.maxRetries", message, "out_of_range")
    return raw if isinstance(raw, int) else 0


def _read_timeout(raw: Any, path: str, problems: _Problems) -> float | None:
    if raw is None or not problems.expect(
        raw, int | float, "a number of seconds", path, "timeoutSeconds"
    ):
        return None
    if not 0 < raw <= MAX_TIMEOUT_SECONDS:
        message = f"timeoutSeconds must be above 0 and at most {MAX_TIMEOUT_SECONDS:g}"
        problems.add(f"{path}.timeoutSeconds", message, "out_of_range")
    return float(raw)


def _read_fan_out(
    raw: Any, inputs: Mapping[str, Reference], path: str, problems: _Problems
) -> str | None:
    if raw is None or not problems.expect(raw, str, "an input name", path, "fanOut"):
        return None
    if raw not in inputs:
        message = f"fanOut '{raw}' must be one of the node's inputs"
        problems.add(f"{path}.fanOut", message, "unknown")
    return str(raw)

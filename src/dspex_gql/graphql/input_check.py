"""Everything an operation brings must be storable (`dspex_gql.storable_input`): every string in
its variables and in the document's literals, inside JSON values, lists and objects, object keys
too; and JSON variables nest at most 200 deep. One problem refuses the whole operation with
`VALIDATION_FAILED` before anything resolves, over HTTP and websockets alike:

    Invalid input at $input.tags[1]: it contains a NUL character (U+0000)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from dspex_gql.errors import FieldProblem, ValidationFailed
from dspex_gql.graphql.security import present
from dspex_gql.storable_input import Unstorable, find_unstorable, problem_in

NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})")


class InputCheck(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        found = unstorable_variable(context.variables) or unstorable_literal(
            context.query, context.graphql_document
        )
        if found is not None:
            raise refusal(found)
        yield


def refusal(found: Unstorable) -> GraphQLError:
    """Presented here: an error raised before execution never reaches `ErrorPresentation`."""
    message = f"Invalid input at {found.path}: it {found.problem}"
    problem = FieldProblem(found.path, found.problem, found.code)
    return present(GraphQLError(message, original_error=ValidationFailed([problem], message)))


def unstorable_variable(variables: Mapping[str, Any] | None) -> Unstorable | None:
    for name, value in (variables or {}).items():
        if (found := find_unstorable(value, f"${name}")) is not None:
            return found
    return None


def unstorable_literal(query: str | None, document: DocumentNode | None) -> Unstorable | None:
    if document is None or (query is not None and not _may_hold_unstorable_literals(query)):
        return None
    finder = _LiteralFinder()
    visit(document, finder)
    return finder.found


def _may_hold_unstorable_literals(query: str) -> bool:
    """A literal can hold NUL only when the document has one raw or escaped (`\\u0000`,
    `\\u{0}`); a lone surrogate, raw or escaped, is already a syntax error. Only then are the
    literals walked."""
    return "\x00" in query or ("\\u" in query and NUL_ESCAPE.search(query) is not None)


class _LiteralFinder(Visitor):
    found: Unstorable | None = None

    def enter_string_value(
        self,
        node: StringValueNode,
        key: Any,
        parent: Any,
        path: list[Any],
        ancestors: list[Any],
    ) -> Any:
        problem = problem_in(node.value)
        if problem is None:
            return None
        where = _readable_path([*ancestors, parent], path)
        self.found = Unstorable(where, problem, "invalid_text")
        return self.BREAK


def _readable_path(containers: list[Any], keys: list[Any]) -> str:
    """`updateProgram.input.tags[1]` from the visitor's ancestors and keys."""
    parts: list[str] = []
    previous: object = None
    for container, key in zip(containers, keys, strict=True):
        if isinstance(container, Node):
            parts.extend(_names(container))
        elif isinstance(previous, ListValueNode):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{key}]"]
        previous = container
    return ".".join(parts)


def _names(node: Node) -> list[str]:
    if isinstance(node, FieldNode):
        return [(node.alias or node.name).value]
    if isinstance(node, ArgumentNode | ObjectFieldNode):
        return [node.name.value]
    if isinstance(node, VariableDefinitionNode):
        return [f"${node.variable.name.value}"]
    return []

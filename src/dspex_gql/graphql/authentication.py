"""Every operation needs an actor, except signing in, signing up and (by default) introspection.

Checked once per operation, before anything resolves, so no field can forget it. Also here:
websocket credentials are checked again on every operation (a revoked key stops at the next
one), and each actor's request budget is spent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from dspex_gql.accounts.authentication import Unauthenticated
from dspex_gql.graphql.context import Context

PUBLIC = frozenset({"signIn", "signUp"})
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})


class Authentication(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and self._needs_actor(context):
            await _admit(context)
        yield

    def _needs_actor(self, context: Context) -> bool:
        document = self.execution_context.graphql_document
        if document is None:
            return True
        fields = set(root_fields(document, self.execution_context.operation_name))
        free = PUBLIC | (INTROSPECTION if context.settings.auth.public_introspection else set())
        return not fields <= free


async def _admit(context: Context) -> None:
    if not context.signed_in:
        raise _unauthenticated(context.auth_error or Unauthenticated().message)
    if context.websocket:
        try:
            context.sign_in_as(await context.runtime.authenticator.recheck(context.actor))
        except Unauthenticated as error:
            raise _unauthenticated(error.message) from None
    retry_after = context.runtime.requests.take(context.actor.user_id)
    if retry_after > 0:
        extensions = {"code": "RATE_LIMITED", "retryAfter": round(retry_after, 3)}
        raise GraphQLError("Too many requests; slow down", extensions=extensions)


def _unauthenticated(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def root_fields(document: DocumentNode, operation_name: str | None) -> Iterator[str]:
    """The names of an operation's top-level fields, through fragments."""
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            yield from _fields(operation.selection_set, fragments, set())


def _fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments, seen)

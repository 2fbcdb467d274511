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
from dspex_gql.db.errors import database_unavailable
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.errors import UNAUTHENTICATED, top_level_extensions
from dspex_gql.graphql.unavailable import service_unavailable
from dspex_gql.ratelimit import RateLimited

PUBLIC = frozenset({"signIn", "signUp"})
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})


class Authentication(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and self._needs_actor(context):
            await admit(context)
        yield

    def _needs_actor(self, context: Context) -> bool:
        document = self.execution_context.graphql_document
        if document is None:
            return True
        fields = set(root_fields(document, self.execution_context.operation_name))
        free = PUBLIC | (INTROSPECTION if context.settings.auth.public_introspection else set())
        return not fields <= free


async def admit(context: Context) -> None:
    """Let the operation run as the context's actor, or raise the GraphQLError saying why not."""
    try:
        await _identify(context)
    except Unauthenticated as error:
        raise _unauthenticated(error.message) from None
    except Exception as error:
        if not database_unavailable(error):
            raise
        if context.response is not None:
            context.response.status_code = 503
            context.response.headers["retry-after"] = "1"
        raise service_unavailable(error) from None
    retry_after = await context.runtime.requests.take(str(context.actor.user_id))
    if retry_after > 0:
        limited = RateLimited("Too many requests; slow down", retry_after)
        raise GraphQLError(limited.message, extensions=top_level_extensions(limited))


async def _identify(context: Context) -> None:
    """Who sends this operation: from the credential, or (on an open websocket) again from the
    store, so a revoked key or a deactivated user stops at the next operation."""
    authenticator = context.runtime.authenticator
    if not context.signed_in:
        context.sign_in_as(await authenticator.authenticate(context.credential, context.origin))
    elif context.websocket:
        context.sign_in_as(await authenticator.recheck(context.actor))


def _unauthenticated(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": UNAUTHENTICATED})


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

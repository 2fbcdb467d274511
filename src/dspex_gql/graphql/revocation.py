"""Open subscriptions end when the credential they run on stops working.

Checking credentials at every operation is not enough for a subscription, which is one operation
that may last for hours: each one also listens for `CredentialsChanged` events of its user (sent
by whichever replica revoked a key, deactivated the user or changed the password), checks its
credential again when one comes, and ends with an error saying why if it no longer holds. It also
ends when its token or key expires.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from functools import lru_cache
from typing import Any, TypeVar

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from graphql.error import GraphQLSyntaxError
from strawberry.types import ExecutionResult

from dspex_gql.accounts.events import CredentialsChanged
from dspex_gql.db.base import utcnow
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.errors import UNAUTHENTICATED
from dspex_gql.graphql.unavailable import service_unavailable
from dspex_gql.identity import Actor, CredentialKind
from dspex_gql.pubsub import HubUnavailable, channels

R = TypeVar("R")
NO_LONGER_WORKS = "The credentials of this connection no longer work"
EXPIRED = {
    CredentialKind.TOKEN: "The token expired: sign in again",
    CredentialKind.API_KEY: "The API key expired",
}


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    if query is None:
        return False
    return _operation_type(query, operation_name) == OperationType.SUBSCRIPTION


@lru_cache(maxsize=256)
def _operation_type(query: str, operation_name: str | None) -> OperationType | None:
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLSyntaxError:
        return None
    return None if operation is None else operation.operation


async def ended_on_revocation(
    results: AsyncGenerator[R, None], context: Context
) -> AsyncGenerator[R | ExecutionResult, None]:
    """`results`, until the credential of the connection stops working; counted as an open
    subscription meanwhile (one wrapper per subscription on the event path, not two)."""
    open_subscriptions = context.runtime.telemetry.subscriptions
    counted = open_subscriptions.track_inprogress()
    with counted if context.counted else contextlib.nullcontext():
        async with contextlib.aclosing(results):
            first = await anext(results, None)
            if first is None:
                return
            if not context.signed_in:
                yield first
                async for result in results:
                    yield result
                return
            try:
                async with _revocation(context) as revoked:
                    yield first  # watched already: a change the client makes after it says why
                    async for guarded in _until(results, revoked, context):
                        yield guarded
            except HubUnavailable as error:
                yield _error(context, service_unavailable(error))


async def _until(
    results: AsyncGenerator[R, None], revoked: asyncio.Future[str], context: Context
) -> AsyncIterator[R | ExecutionResult]:
    while True:
        following: asyncio.Future[R] = asyncio.ensure_future(anext(results))
        try:
            waiting: set[asyncio.Future[Any]] = {following, revoked}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not following.done():  # revoked, or the client stopped listening
                await _abandon(following)
        if following.cancelled():
            reason = revoked.result()  # raises HubUnavailable if the watch failed
            yield _error(context, GraphQLError(reason, extensions={"code": UNAUTHENTICATED}))
            return
        try:
            yield following.result()
        except StopAsyncIteration:
            return


async def _abandon(following: asyncio.Future[Any]) -> None:
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await following


@contextlib.asynccontextmanager
async def _revocation(context: Context) -> AsyncIterator[asyncio.Future[str]]:
    """A future that resolves to the reason once the actor's credential stops working.

    Subscribed first, then checked, both before the block runs: a change made in between is not
    missed, and a change made later arrives with its reason."""
    actor = context.actor
    revoked: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    channel = channels.credentials(actor.user_id)
    async with context.runtime.hub.subscribe(channel, CredentialsChanged) as changes:
        if not await _still_valid(context, actor):
            revoked.set_result(NO_LONGER_WORKS)
        watcher = asyncio.create_task(_watch(context, actor, changes, revoked))
        try:
            yield revoked
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _watch(
    context: Context,
    actor: Actor,
    changes: AsyncIterator[CredentialsChanged],
    revoked: asyncio.Future[str],
) -> None:
    if revoked.done():
        return
    try:
        reason = await _first_failure(context, actor, changes)
    except HubUnavailable as error:
        revoked.set_exception(error)
    else:
        revoked.set_result(reason)


async def _first_failure(
    context: Context, actor: Actor, changes: AsyncIterator[CredentialsChanged]
) -> str:
    expiry = actor.credential.expires_at
    seconds = None if expiry is None else max(0.0, (expiry - utcnow()).total_seconds())
    try:
        async with asyncio.timeout(seconds):
            async for change in changes:
                if not await _still_valid(context, actor):
                    return change.reason
    except TimeoutError:
        return EXPIRED.get(actor.credential.kind, "The credential expired")
    raise HubUnavailable("the credential watch ended")


async def _still_valid(context: Context, actor: Actor) -> bool:
    """Whether the credential still works; when that cannot be checked, the change that asked
    is believed."""
    try:
        await context.runtime.authenticator.recheck(actor, from_store=True)
    except Exception:
        return False
    return True


def _error(context: Context, error: GraphQLError) -> ExecutionResult:
    extensions = {**(error.extensions or {}), "requestId": context.origin.request_id}
    return ExecutionResult(data=None, errors=[GraphQLError(error.message, extensions=extensions)])


__all__: list[Any] = ["ended_on_revocation", "is_subscription"]

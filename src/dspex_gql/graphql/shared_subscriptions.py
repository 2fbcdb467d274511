"""Subscriptions that many sockets share: executed and serialized once per event, not per socket.

A subscription whose every message is the whole current state of one thing (`SHARED_FIELDS`) runs
once per (document, operation name, variables, credential). The first socket to ask starts it;
later ones join it, get its latest message at once as their snapshot, then each message after it,
the same text with their own operation id around it. It stops when its last socket leaves, and
completes for all of them when it ends (a finished run, a revoked credential).

Keyed by credential, so everyone sharing a subscription is allowed exactly what its execution is
allowed, and a revoked credential ends them all. A socket that stops reading holds up no one
(`sinks.py`). Subscriptions whose messages are changes since the previous one
(`programExecutions`, `evaluationsAdded`, `nodeExecutionUpdated`) each run on their own, as do
those of the legacy graphql-ws protocol and documents over `MAX_SHARED_DOCUMENT` characters
(which are not remembered either).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from graphql.error import GraphQLSyntaxError
from strawberry.schema import BaseSchema
from strawberry.types.execution import ExecutionResult, PreExecutionError

from dspex_gql.graphql.authentication import admit, root_fields
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.observation import count_errors
from dspex_gql.graphql.security import present
from dspex_gql.graphql.sinks import Sink
from dspex_gql.identity import Actor, Credential, Role

logger = logging.getLogger(__name__)

SUBSCRIPTION = OperationType.SUBSCRIPTION.value
MAX_SHARED_DOCUMENT = 10_000
SHARED_FIELDS = frozenset(
    {"executionUpdated", "optimizationProgress", "paretoFrontierUpdated", "dagRunUpdated"}
)


@dataclass(frozen=True)
class Request:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


@dataclass(frozen=True)
class StreamKey:
    query: str
    operation_name: str | None
    variables: str
    """Canonical JSON."""
    user_id: Any
    organization_id: Any
    role: Role
    credential: Credential


class SharedStream:
    """One execution of a subscription, sent to every sink that joined it."""

    def __init__(
        self,
        key: StreamKey,
        schema: BaseSchema,
        context: Context,
        request: Request,
        forget: Callable[[SharedStream], None],
    ) -> None:
        self.key = key
        self.sinks: dict[Sink, None] = {}
        self.latest: str | None = None
        self.over = False
        self.forget = forget
        self._task = asyncio.create_task(self._run(schema, context, request))

    def join(self, sink: Sink) -> None:
        sink.stream = self
        self.sinks[sink] = None
        if self.latest is not None:
            sink.next(self.latest)

    def leave(self, sink: Sink) -> None:
        self.sinks.pop(sink, None)
        if not self.sinks and not self.over:
            self._stop()
            self._task.cancel()

    def _stop(self) -> None:
        self.over = True
        self.forget(self)

    async def _run(self, schema: BaseSchema, context: Context, request: Request) -> None:
        try:
            results = await schema.stream(
                request.query,
                variable_values=request.variables,
                context_value=context,
                operation_name=request.operation_name,
            )
            async with contextlib.aclosing(results):
                async for result in results:
                    if isinstance(result, PreExecutionError):
                        self._end_with_errors(result.errors or [])
                        return
                    assert isinstance(result, ExecutionResult), "no @defer or @stream here"
                    self._send(_payload(result))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("shared subscription %r failed", request.operation_name)
        if not self.over:
            self._stop()
        for sink in list(self.sinks):
            sink.complete()

    def _send(self, payload: str) -> None:
        """The hot path: one frame per sink; a socket that cannot take it now does not hold up
        the others (`sinks.py`)."""
        self.latest = payload
        for sink in list(self.sinks):
            sink.next(payload)

    def _end_with_errors(self, errors: list[GraphQLError]) -> None:
        self._stop()
        text = json.dumps([error.formatted for error in errors])
        for sink in list(self.sinks):
            sink.error(text)


def _payload(result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload, separators=(",", ":"))


class SharedSubscriptions:
    """The shared subscriptions of one app, by key."""

    def __init__(self, schema: BaseSchema) -> None:
        self._schema = schema
        self._streams: dict[StreamKey, SharedStream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def accepts(self, context: Context, request: Request) -> bool:
        return context.signed_in and shareable(request.query, request.operation_name)

    async def join(self, context: Context, request: Request, sink: Sink) -> None:
        """Join the subscription `request` asks for (one `accepts`), or start it. Whatever
        happens, the sink is then open until `leave`, which its `ended` may ask for."""
        context.runtime.telemetry.subscriptions.inc()
        sink.operation_name = request.operation_name
        key = _key(context.actor, request)
        stream = self._streams.get(key)
        if stream is not None:
            try:
                await admit(context)
            except GraphQLError as error:
                _refuse(context, sink, error)
                return
            stream = self._streams.get(key)  # it may have ended meanwhile
        if stream is None:
            stream = self._start(key, context, request)  # its execution admits the operation
        stream.join(sink)

    def leave(self, context: Context, sink: Sink) -> None:
        """The sink's subscription is over: counted as an operation of its whole life."""
        telemetry = context.runtime.telemetry
        telemetry.subscriptions.dec()
        telemetry.operation(sink.operation_name, SUBSCRIPTION, time.perf_counter() - sink.started)
        if sink.stream is not None:
            sink.stream.leave(sink)

    def _start(self, key: StreamKey, context: Context, request: Request) -> SharedStream:
        own = Context(context.runtime, context.origin, websocket=True)
        own.sign_in_as(context.actor)
        own.counted = False  # its sockets' operations are counted
        stream = SharedStream(key, self._schema, own, request, self._forget)
        self._streams[key] = stream
        return stream

    def _forget(self, stream: SharedStream) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]


def _refuse(context: Context, sink: Sink, error: GraphQLError) -> None:
    """As the operation's own execution would answer: one result with the error, then done."""
    shown = present(error, context.origin.request_id)
    count_errors(context.runtime.telemetry, [shown])
    sink.next(json.dumps({"data": None, "errors": [shown.formatted]}))
    sink.complete()


def _key(actor: Actor, request: Request) -> StreamKey:
    variables = json.dumps(request.variables or {}, sort_keys=True, separators=(",", ":"))
    return StreamKey(
        request.query,
        request.operation_name,
        variables,
        actor.user_id,
        actor.organization_id,
        actor.role,
        actor.credential,
    )


def shareable(query: str, operation_name: str | None) -> bool:
    """A subscription of one field of `SHARED_FIELDS`, in a document short enough to remember."""
    return len(query) <= MAX_SHARED_DOCUMENT and _shareable(query, operation_name)


@lru_cache(maxsize=256)
def _shareable(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return False
    fields = list(root_fields(document, operation_name))
    return len(fields) == 1 and fields[0] in SHARED_FIELDS

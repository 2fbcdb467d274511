"""Websocket messages are checked before Strawberry handles them. graphql-transport-ws: "a message
of a type or format which is not specified in this document will result in an immediate socket
closure with the event 4400: <error-message>", e.g. a `subscribe` whose `payload.query` is null
closes with `4400: payload.query must be a string (the GraphQL document)`. The legacy graphql-ws
protocol answers a malformed `start` with an `error` message for its id instead.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from dspex_gql.graphql.context import Context
from dspex_gql.graphql.shared_subscriptions import Request, SharedSubscriptions
from dspex_gql.graphql.sinks import Sink
from dspex_gql.storable_input import printable

MALFORMED = 4400
MAX_CLOSE_REASON_BYTES = 123
WITH_ID = frozenset({"subscribe", "complete", "start", "stop"})
WITH_OPERATION = frozenset({"subscribe", "start"})


def fitting_reason(reason: str) -> str:
    """A close reason is valid UTF-8 of at most 123 bytes (RFC 6455, 5.5). Strawberry echoes
    client input in some (an unknown message type, a syntax error): they are escaped and cut."""
    encoded = printable(reason).encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return encoded.decode()
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "…"


def too_big_reason(limit: int) -> str:
    """Why a socket closed with 1009: a message over the request body limit."""
    return f"Message too big: the limit is {limit} bytes"


def message_problem(message: object) -> str | None:
    """What is wrong with a client's message, or None when its shape is right."""
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string type"
    if kind in WITH_ID and not isinstance(message.get("id"), str):
        return f"A {kind} message needs a string id"
    if kind in WITH_OPERATION:
        return payload_problem(message.get("payload"))
    return None


def payload_problem(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return "The payload must be a JSON object with a query"
    if not isinstance(payload.get("query"), str):
        return "payload.query must be a string (the GraphQL document)"
    for name in ("variables", "extensions"):
        if not isinstance(payload.get(name), dict | None):
            return f"payload.{name} must be a JSON object or null"
    if not isinstance(payload.get("operationName"), str | None):
        return "payload.operationName must be a string or null"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, but subscriptions that can be shared join one another
    (`shared_subscriptions.py`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared: dict[str, Sink] = {}

    @property
    def _subscriptions(self) -> SharedSubscriptions:
        return self.view.shared_subscriptions  # type: ignore[attr-defined,no-any-return]

    async def handle_message(self, message: Message) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.websocket.close(code=MALFORMED, reason=problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not await self._subscribe_shared(message):
            await super().handle_subscribe(message)

    async def _subscribe_shared(self, message: SubscribeMessage) -> bool:
        """Whether the operation joined (or started) a shared subscription; the protocol's
        refusals and every operation that cannot be shared are Strawberry's."""
        id = message["id"]
        if id in self.shared:
            await self.websocket.close(code=4409, reason=f"Subscriber for {id} already exists")
            return True
        if not self.connection_acknowledged or id in self.operations:
            return False
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) + len(self.shared) >= limit:
            error = GraphQLError("Subscription limit reached")
            await self.send_message({"id": id, "type": "error", "payload": [error.formatted]})
            return True
        payload = message["payload"]
        request = Request(payload["query"], payload.get("operationName"), payload.get("variables"))
        if not self._subscriptions.accepts(self.context, request):
            return False
        sink = Sink(id, self.websocket.ws.send_text, self._drop)  # type: ignore[attr-defined]
        self.shared[id] = sink
        await self._subscriptions.join(self.context, request, sink)
        return True

    def _drop(self, sink: Sink) -> None:
        if self.shared.get(sink.id) is sink:
            del self.shared[sink.id]
            self._subscriptions.leave(self.context, sink)

    async def handle_complete(self, message: CompleteMessage) -> None:
        sink = self.shared.get(message["id"])
        if sink is None:
            await super().handle_complete(message)
        else:
            self._drop(sink)

    async def shutdown(self) -> None:
        for sink in list(self.shared.values()):
            self._drop(sink)
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_message(self, message: OperationMessage) -> None:
        problem = message_problem(message)
        if problem is None:
            await super().handle_message(message)
        elif isinstance(message, dict) and isinstance(id := message.get("id"), str):
            await self.send_message({"type": "error", "id": id, "payload": {"message": problem}})
        else:
            await self.websocket.close(code=MALFORMED, reason=problem)

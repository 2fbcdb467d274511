"""Websocket messages are checked before Strawberry handles them. graphql-transport-ws: "a message
of a type or format which is not specified in this document will result in an immediate socket
closure with the event 4400: <error-message>", e.g. a `subscribe` whose `payload.query` is null
closes with `4400: payload.query must be a string (the GraphQL document)`. The legacy graphql-ws
protocol answers a malformed `start` with an `error` message for its id instead.
"""

from __future__ import annotations

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from dspex_gql.graphql.context import Context

MALFORMED = 4400
WITH_ID = frozenset({"subscribe", "complete", "start", "stop"})
WITH_OPERATION = frozenset({"subscribe", "start"})


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
    async def handle_message(self, message: Message) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.websocket.close(code=MALFORMED, reason=problem)
            return
        await super().handle_message(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_message(self, message: OperationMessage) -> None:
        problem = message_problem(message)
        if problem is None:
            await super().handle_message(message)
        elif isinstance(message, dict) and isinstance(id := message.get("id"), str):
            await self.send_message({"type": "error", "id": id, "payload": {"message": problem}})
        else:
            await self.websocket.close(code=MALFORMED, reason=problem)

"""ASGI middleware for the HTTP edge: request ids, one size limit for request bodies and
websocket messages alike, and websocket close reasons that fit the protocol. (The websockets that
`dspex-gql serve` serves below ASGI get the same from `graphql/websocket_server.py`.)"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dspex_gql.graphql.errors import INTERNAL_SERVER_ERROR, PAYLOAD_TOO_LARGE, SERVICE_UNAVAILABLE
from dspex_gql.graphql.websocket_protocols import fitting_reason, too_big_reason
from dspex_gql.observability import request_scope
from dspex_gql.observability.context import incoming_request_id

TOO_LARGE = json.dumps(
    {"errors": [{"message": "Request body too large", "extensions": {"code": PAYLOAD_TOO_LARGE}}]},
    separators=(",", ":"),
).encode()


logger = logging.getLogger("dspex_gql.errors")


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0

    async def _refuse(self, send: Send) -> None:
        body = TOO_LARGE
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class WebSocketMessageLimit:
    """Close a websocket with 1009 ("message too big", as uvicorn does past `ws_max_size`) when a
    client's message is over `max_bytes`, the request body limit, before the app reads it; the
    app sees a disconnect, and anything it sends afterwards is dropped."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and self._too_big(message):
                closed = True
                reason = too_big_reason(self.max_bytes)
                await send({"type": "websocket.close", "code": 1009, "reason": reason})
                return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def send_until_closed(message: Message) -> None:
            if not closed:
                await send(message)

        await self.app(scope, limited_receive, send_until_closed)

    def _too_big(self, message: Message) -> bool:
        text: str | None = message.get("text")
        if text is None:
            return len(message.get("bytes") or b"") > self.max_bytes
        # A character takes 1 to 4 bytes of UTF-8: encode only when the length cannot tell.
        if len(text) > self.max_bytes:
            return True
        if len(text) * 4 <= self.max_bytes:
            return False
        return len(text.encode("utf-8", "surrogatepass")) > self.max_bytes


class WebSocketCloseReasons:
    """A websocket close reason is valid UTF-8 of at most 123 bytes (RFC 6455, 5.5). Strawberry
    echoes client input in some (an unknown message type, a syntax error): they are escaped and
    cut here, instead of failing the connection without a close frame."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def send_fitting_reason(message: Message) -> None:
            if message["type"] == "websocket.close" and message.get("reason"):
                message = {**message, "reason": fitting_reason(message["reason"])}
            await send(message)

        await self.app(scope, receive, send_fitting_reason)


class RequestId:
    """Give every request an id (a sane incoming X-Request-ID, or a new one), echo it in the
    response, and leave it in `scope["state"]["request_id"]` for the audit log and in the
    logging context (`request_scope`) for every log line the request causes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with request_scope(request_id):
            # A websocket has no response headers to add to: its messages go straight through.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return incoming_request_id(value.decode("latin-1"))
    return None


class ErrorResponses:
    """The last resort for a failure outside GraphQL execution (before a response started): a
    GraphQL-shaped JSON body with a code and the request id, instead of plain-text
    "Internal Server Error" — 503 and `SERVICE_UNAVAILABLE` when a dependency is unavailable."""

    def __init__(self, app: ASGIApp, unavailability: Callable[[BaseException], str | None]) -> None:
        self.app = app
        self.unavailability = unavailability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise
            await self._answer(scope, send, error)

    async def _answer(self, scope: Scope, send: Send, error: Exception) -> None:
        request_id = scope.get("state", {}).get("request_id")
        message = self.unavailability(error)
        if message is not None:
            status, extensions = 503, {"code": SERVICE_UNAVAILABLE, "retryable": True}
            logger.warning("%s (request %s): %r", message, request_id, error)
        else:
            error_id = uuid.uuid4().hex[:12]
            logger.error("unexpected error %s (request %s)", error_id, request_id, exc_info=error)
            status, message = 500, f"Unexpected error (error id {error_id})"
            extensions = {"code": INTERNAL_SERVER_ERROR, "errorId": error_id}
        extensions["requestId"] = request_id
        await _send_json(send, status, {"errors": [{"message": message, "extensions": extensions}]})


async def _send_json(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

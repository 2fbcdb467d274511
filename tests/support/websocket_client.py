"""The graphql-transport-ws client of the tests (it speaks the legacy graphql-ws as well)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

from tests.support.app import served
from tests.support.websocket_transports import (
    WAIT,
    AsgiWebsocket,
    NetworkWebsocket,
    WebsocketTransport,
)

TRANSPORT_WS = "graphql-transport-ws"


class SocketClosed(AssertionError):
    """The service closed the socket where a message was expected."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"the socket closed: {code} {reason!r}")
        self.code = code
        self.reason = reason


class Socket:
    """One websocket to the service: the test's app (served on a real socket in the test's event
    loop, as `dspex-gql serve` serves it; with `asgi=True` its ASGI websocket route called
    directly), or a served process.

        async with Socket(app, key) as socket:                          # in process
        async with Socket("ws://127.0.0.1:8000/graphql", key) as socket:  # a served process
            messages = await socket.subscribe(DOCUMENT, {"id": execution_id})

    With a credential, entering sends `connection_init` with it (`Bearer <credential>`) and
    expects the ack; without one the socket is only open, for the test to `init()` its own way.
    """

    def __init__(
        self,
        target: FastAPI | str,
        credential: str | None = None,
        protocol: str = TRANSPORT_WS,
        *,
        headers: Mapping[str, str] | None = None,
        asgi: bool = False,
    ) -> None:
        self.credential = credential
        self.target = target
        self.protocol = protocol
        self.headers = dict(headers or {})
        self.asgi = asgi
        self.transport: WebsocketTransport | None = None
        self._operations = 0

    async def __aenter__(self) -> Socket:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> Socket:
        self.transport = await self._transport()
        await self.transport.open()
        if self.credential is not None:
            ack = await self.init(f"Bearer {self.credential}")
            assert ack["type"] == "connection_ack", ack
        return self

    async def _transport(self) -> WebsocketTransport:
        if isinstance(self.target, str):
            return NetworkWebsocket(self.target, self.protocol, self.headers)
        if self.asgi:
            return AsgiWebsocket(self.target, self.protocol, self.headers)
        url = (await served(self.target)).websocket_url
        return NetworkWebsocket(url, self.protocol, self.headers)

    @property
    def opened(self) -> WebsocketTransport:
        assert self.transport is not None, "the socket is not open"
        return self.transport

    async def close(self) -> None:
        await self.opened.close()

    async def init(self, authorization: str | None) -> dict[str, Any]:
        """Send `connection_init` with this authorization (None: an empty payload); the answer."""
        payload = {} if authorization is None else {"authorization": authorization}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        """Exactly this text as one message, well-formed or not."""
        await self.opened.send(text)

    async def next_event(self) -> Message:
        """What the service sends next, as an ASGI message: `websocket.send` or `.close`."""
        return await self.opened.receive()

    async def closed(self, *, after_messages: bool = False) -> tuple[int, str]:
        """The code and reason of the close the service sends next (failing on anything else,
        or, `after_messages`, skipping the messages already on their way before it)."""
        event = await self.next_event()
        while after_messages and event["type"] == "websocket.send":
            event = await self.next_event()
        assert event["type"] == "websocket.close", f"expected the socket to close, got {event}"
        return event["code"], event.get("reason", "")

    async def receive(self) -> dict[str, Any]:
        """The next message; `SocketClosed` if the service closed the socket instead."""
        event = await self.next_event()
        if event["type"] == "websocket.close":
            raise SocketClosed(event["code"], event.get("reason", ""))
        message: dict[str, Any] = json.loads(event["text"])
        return message

    async def start(
        self, document: str, variables: dict[str, Any] | None = None, *, operation: str = ""
    ) -> str:
        """Subscribe to `document`; the operation's id (numbered 1, 2, ... unless given)."""
        if not operation:
            self._operations += 1
            operation = str(self._operations)
        payload = {"query": document, "variables": variables or {}}
        await self.send({"id": operation, "type": "subscribe", "payload": payload})
        return operation

    async def next_of(self, operation: str) -> dict[str, Any]:
        """The next message of `operation`: pings are answered, other operations' skipped."""
        while True:
            message = await self.receive()
            if message["type"] == "ping":
                await self.send({"type": "pong"})
            if message.get("id") == operation:
                return message

    async def messages_of(
        self, operation: str, *, until: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """The messages of `operation` until it ends (or until one satisfies `until`, then
        stop it)."""
        messages: list[dict[str, Any]] = []
        while True:
            message = await self.next_of(operation)
            messages.append(message)
            if message["type"] in {"complete", "error"}:
                return messages
            if until is not None and until(message):
                await self.send({"id": operation, "type": "complete"})
                return messages

    async def subscribe(
        self,
        document: str,
        variables: dict[str, Any],
        *,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The messages of one subscription until it ends (or until one satisfies `until`,
        then stop it)."""
        return await self.messages_of(await self.start(document, variables), until=until)

    async def next_payload(self, operation: str) -> dict[str, Any]:
        """The payload of the next message of `operation`, which must be a `next`."""
        message = await self.next_of(operation)
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def payload_where(
        self, operation: str, wanted: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The first payload of `operation` that is `wanted`, the ones before it skipped (for
        at most WAIT seconds): other events may come first, a run's RUNNING before its
        CANCELLED say."""
        async with asyncio.timeout(WAIT):
            while True:
                payload = await self.next_payload(operation)
                if wanted(payload):
                    return payload

    async def results(self, operation: str) -> list[dict[str, Any]]:
        """The payloads of `operation` until it completes. An operation refused before it ran
        may end with an `error` message instead (the protocol allows both): its errors come
        back as a last payload without data."""
        messages = await self.messages_of(operation)
        return [payload_of(message) for message in messages if message["type"] != "complete"]

    async def run(
        self, document: str, variables: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """`results` of a new subscription to `document`."""
        return await self.results(await self.start(document, variables))


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    """A `next` message's payload, or an `error` message's errors as a payload without data."""
    assert message["type"] in {"next", "error"}, message
    if message["type"] == "error":
        return {"data": None, "errors": message["payload"]}
    payload: dict[str, Any] = message["payload"]
    return payload

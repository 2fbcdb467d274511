"""How a test's websocket reaches the service: through the ASGI app in the test's event loop, or
over a real socket to a served process. Both hand over what the service sends as ASGI messages:
`{"type": "websocket.send", "text": ...}`, then `{"type": "websocket.close", "code": ...,
"reason": ...}` once it closed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from fastapi import FastAPI
from starlette.types import Message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.support.http_client import CLIENT_ADDRESS

WAIT = 30.0
"""Upper bound on any one websocket exchange; only reached when something is broken. (10 s was
reached twice in a full run on this slower machine, each time by a test that passes in a second
alone: a stall of the whole process, not of the exchange.)"""

ABNORMAL_CLOSURE = 1006
"""The code a client reports when the connection ended without a close frame."""


class WebsocketTransport(Protocol):
    async def open(self) -> None: ...

    async def send(self, text: str) -> None: ...

    async def receive(self) -> Message: ...

    async def close(self) -> None: ...


class AsgiWebsocket:
    """The app's websocket route, called in the test's event loop: the real protocol and the
    real router, as a browser would speak it (the sync TestClient would need its own loop, and
    the app's database connections belong to this one)."""

    def __init__(self, app: FastAPI, protocol: str, headers: Mapping[str, str]) -> None:
        self.app = app
        self.protocol = protocol
        self.headers = headers
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._task = asyncio.create_task(
            self.app(self._scope(), self._to_app.get, self._from_app.put)
        )
        await self._to_app.put({"type": "websocket.connect"})
        accepted = await self.receive()
        assert accepted["type"] == "websocket.accept", accepted

    def _scope(self) -> dict[str, object]:
        headers = [(b"host", b"testserver"), (b"sec-websocket-protocol", self.protocol.encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]
        return {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": CLIENT_ADDRESS,
            "root_path": "",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "headers": headers,
            "subprotocols": [self.protocol],
            "state": {},
            "extensions": {},
        }

    async def send(self, text: str) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def receive(self) -> Message:
        async with asyncio.timeout(WAIT):
            return await self._from_app.get()

    async def close(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        async with asyncio.timeout(WAIT):
            await self._task


class NetworkWebsocket:
    """A websocket to a served process (`ws://host:port/graphql`)."""

    def __init__(self, url: str, protocol: str, headers: Mapping[str, str]) -> None:
        self.url = url
        self.protocol = protocol
        self.headers = headers
        self._connection: ClientConnection | None = None

    @property
    def connection(self) -> ClientConnection:
        assert self._connection is not None, "the websocket is not open"
        return self._connection

    async def open(self) -> None:
        self._connection = await connect(
            self.url,
            subprotocols=[Subprotocol(self.protocol)],
            additional_headers=dict(self.headers),
            open_timeout=WAIT,
        )

    async def send(self, text: str) -> None:
        await self.connection.send(text)

    async def receive(self) -> Message:
        try:
            async with asyncio.timeout(WAIT):
                text = await self.connection.recv(decode=True)
        except ConnectionClosed as closed:
            frame = closed.rcvd
            if frame is None:
                return {"type": "websocket.close", "code": ABNORMAL_CLOSURE, "reason": ""}
            return {"type": "websocket.close", "code": frame.code, "reason": frame.reason}
        return {"type": "websocket.send", "text": text}

    async def close(self) -> None:
        await self.connection.close()

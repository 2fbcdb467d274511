"""graphql-transport-ws (or the legacy graphql-ws) through the ASGI app, in the test's event
loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

WAIT = 10.0
"""Upper bound on any one websocket exchange; only reached when something is broken."""


class Socket:
    """graphql-transport-ws through the ASGI app, in the test's event loop (the real protocol
    and the real router, as a browser would speak it; the sync TestClient would need its own
    loop, and the app's database connections belong to this one)."""

    def __init__(
        self, app: FastAPI, credential: str, protocol: str = "graphql-transport-ws"
    ) -> None:
        self.app = app
        self.credential = credential
        self.protocol = protocol
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._operations = 0

    async def __aenter__(self) -> Socket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("10.0.0.7", 41000),
            "root_path": "",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"sec-websocket-protocol", self.protocol.encode()),
            ],
            "subprotocols": [self.protocol],
            "state": {},
            "extensions": {},
        }
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        accepted = await self._raw()
        assert accepted["type"] == "websocket.accept", accepted
        init = {"authorization": f"Bearer {self.credential}"}
        await self.send({"type": "connection_init", "payload": init})
        assert (await self.receive())["type"] == "connection_ack"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        async with asyncio.timeout(WAIT):
            await self._task

    async def _raw(self) -> Message:
        async with asyncio.timeout(WAIT):
            return await self._from_app.get()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        """Exactly this text as one message, well-formed or not."""
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def next_event(self) -> Message:
        """The next ASGI message the app sends: `websocket.send` or `websocket.close`."""
        return await self._raw()

    async def closed(self) -> tuple[int, str]:
        """The code and reason of the close the app sends next (failing on any other message)."""
        raw = await self._raw()
        assert raw["type"] == "websocket.close", f"expected the socket to close, got {raw}"
        return raw["code"], raw.get("reason", "")

    async def receive(self) -> dict[str, Any]:
        raw = await self._raw()
        assert raw["type"] == "websocket.send", f"the socket closed: {raw}"
        message: dict[str, Any] = json.loads(raw["text"])
        return message

    async def subscribe(
        self,
        document: str,
        variables: dict[str, Any],
        *,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The messages of one subscription until it ends (or until one satisfies `until`,
        then stop it)."""
        self._operations += 1
        id = str(self._operations)
        payload = {"query": document, "variables": variables}
        await self.send({"id": id, "type": "subscribe", "payload": payload})
        messages: list[dict[str, Any]] = []
        while True:
            message = await self.receive()
            if message["type"] == "ping":
                await self.send({"type": "pong"})
            if message.get("id") != id:
                continue
            messages.append(message)
            if message["type"] in {"complete", "error"}:
                return messages
            if until is not None and until(message):
                await self.send({"id": id, "type": "complete"})
                return messages


async def until_running(app: FastAPI, credential: str, execution_id: str) -> None:
    """Wait for the RUNNING event of an execution: RUNNING is stored once it is announced."""
    document = "subscription($id: ID!) { executionUpdated(id: $id) { status } }"

    def running(message: dict[str, Any]) -> bool:
        data = message.get("payload", {}).get("data") or {}
        return bool(data.get("executionUpdated", {}).get("status") == "RUNNING")

    async with Socket(app, credential) as socket:
        messages = await socket.subscribe(document, {"id": execution_id}, until=running)
    assert running(messages[-1]), messages

"""A small graphql-transport-ws client: the command line talks to a running server as any
client does, with an API key.

    async with GraphQLSocket("http://127.0.0.1:8000", key) as socket:
        data = await socket.one(QUERY, {"id": id})
        async for data in socket.many(SUBSCRIPTION, {"id": id}): ...
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from dspex_gql.cli.failures import Unusable

PROTOCOL = Subprotocol("graphql-transport-ws")
OPEN_TIMEOUT_SECONDS = 10.0
REFUSED = 4403


def websocket_url(url: str) -> str:
    """`http://host:8000` → `ws://host:8000/graphql` (https → wss; a given path is kept)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError(f"the server url must be like http://127.0.0.1:8000, not {url!r}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else "/graphql"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class GraphQLSocket:
    def __init__(self, url: str, key: str) -> None:
        self._url = websocket_url(url)
        self._key = key
        self._ids = itertools.count(1)
        self._socket: ClientConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            self._socket = await connect(
                self._url, subprotocols=[PROTOCOL], open_timeout=OPEN_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
            raise Unusable(f"could not reach the server at {self._url}: {error}") from None
        await self._send({"type": "connection_init", "payload": self._authorization()})
        await self._until("connection_ack")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def one(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async for data in self.many(query, variables):
            return data
        raise Unusable("the server answered nothing")

    async def many(self, query: str, variables: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Each result's `data` until the operation completes; its errors raise."""
        id = str(next(self._ids))
        payload = {"query": query, "variables": variables}
        await self._send({"id": id, "type": "subscribe", "payload": payload})
        while True:
            message = await self._until("next", "error", "complete")
            if message.get("id") != id:  # the end of an earlier operation
                continue
            if message["type"] == "complete":
                return
            errors = message["payload"] if message["type"] == "error" else None
            errors = errors or message["payload"].get("errors")
            if errors:
                raise Unusable(f"the server said: {errors[0].get('message', errors[0])}")
            yield message["payload"]["data"]

    def _authorization(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key}"} if self._key else {}

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._socket is not None
        await self._socket.send(json.dumps(message))

    async def _until(self, *types: str) -> dict[str, Any]:
        assert self._socket is not None
        while True:
            try:
                message: dict[str, Any] = json.loads(await self._socket.recv())
            except ConnectionClosed as closed:
                raise Unusable(self._closed(closed)) from None
            if message["type"] == "ping":
                await self._send({"type": "pong"})
            elif message["type"] in types:
                return message

    def _closed(self, closed: ConnectionClosed) -> str:
        code = closed.rcvd.code if closed.rcvd else None
        if code == REFUSED:
            return "the server refused the API key (DSPEX_CLI_API_KEY or --key)"
        reason = closed.rcvd.reason if closed.rcvd else "no reason given"
        return f"the server closed the connection: {code} {reason}"

"""A minimal HTTP/1.1 keep-alive client over asyncio streams, for measuring without client overhead.

    connection = await Connection.open(port)
    status, body = await connection.send(graphql_post(QUERY, variables, api_key=key))

`api_key` adds `Authorization: Bearer <api_key>` to the request (the service requires it).

httpx-style clients spend a few hundred microseconds of CPU per request building and parsing
messages; on a 2-core machine that CPU is taken from the server under test. This client writes
pre-built request bytes and reads `Content-Length` bodies, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

HOST = "127.0.0.1"


class HTTPError(RuntimeError):
    pass


def request_bytes(
    method: str, path: str, body: bytes = b"", *, port: int = 0, api_key: str | None = None
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}" if port else f"Host: {HOST}",
        "Accept: application/json",
        "Connection: keep-alive",
    ]
    if api_key is not None:
        lines.append(f"Authorization: Bearer {api_key}")
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_post(path: str, payload: Any, *, api_key: str | None = None) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return request_bytes("POST", path, body, api_key=api_key)


def graphql_post(
    query: str,
    variables: dict[str, Any] | None = None,
    path: str = "/graphql",
    *,
    api_key: str | None = None,
) -> bytes:
    return json_post(path, {"query": query, "variables": variables or {}}, api_key=api_key)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int, host: str = HOST) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=2**24)
        return cls(reader, writer)

    async def send(self, raw_request: bytes) -> tuple[int, bytes]:
        """Write a whole request, read the whole response: (status, body)."""
        self._writer.write(raw_request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = _content_length(head)
        body = await self._reader.readexactly(length)
        return status, body

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise HTTPError("chunked responses are not supported by this client")
    raise HTTPError(f"response without Content-Length: {head[:200]!r}")


async def graphql(
    connection: Connection, query: str, variables: dict[str, Any], *, api_key: str | None
) -> dict[str, Any]:
    """The `data` of a GraphQL response that must have no errors."""
    status, body = await connection.send(graphql_post(query, variables, api_key=api_key))
    response: dict[str, Any] = json.loads(body)
    if status != 200 or response.get("errors"):
        raise HTTPError(f"HTTP {status}: {body[:500]!r}")
    data: dict[str, Any] = response["data"]
    return data


async def wait_until_up(port: int, path: str = "/healthz", within: float = 60.0) -> None:
    """Until `GET path` answers 200 (the socket may already accept before the app is started)."""
    deadline = asyncio.get_running_loop().time() + within
    last: BaseException | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            connection = await Connection.open(port)
            try:
                status, _ = await asyncio.wait_for(
                    connection.send(request_bytes("GET", path)), timeout=within
                )
            finally:
                await connection.close()
            if status == 200:
                return
        except (OSError, asyncio.IncompleteReadError, HTTPError) as error:
            last = error
        await asyncio.sleep(0.05)
    raise TimeoutError(f"server on port {port} not up after {within}s (last error: {last})")

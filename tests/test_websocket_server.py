"""The GraphQL websockets below ASGI (`graphql/websocket_server.py`), as `dspex-gql serve` runs
them, and the ASGI route they stand in for: the same protocol on both, the same limits, and what
the socket layer itself owes a client (a refused handshake, keepalive, a restart, other paths)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from dspex_gql.config import ServerSettings, Settings
from tests.support.app import make_settings, served, stop_serving
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant
from tests.support.websocket_client import Socket

CREATE_SIGNATURE = """mutation($name: String!) { createSignature(input: {
    name: $name, spec: "q -> a" }) { ... on Signature { id } } }"""
AUDITED = """query($id: String!) { auditLogs(filter: {resourceId: {eq: $id}}) {
    nodes { action requestId ipAddress userAgent } } }"""
LIMIT = 4096
TRANSPORT_WS = [Subprotocol("graphql-transport-ws")]
GOOD_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
DESCRIBED = """mutation($name: String!, $description: String!) { createSignature(input: {
    name: $name, spec: "q -> a", description: $description }) { ... on Signature { id } } }"""
ALL_SIGNATURES = "{ signatures(first: 100) { nodes { id description } } }"
BIG_SIGNATURES = 30
BIG_ANSWERS = 60


@pytest.fixture(params=[False, True], ids=["socket", "asgi"])
def asgi(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


class TestBothLayers:
    async def test_an_operation_runs_and_completes(
        self, app: FastAPI, tenant: Tenant, asgi: bool
    ) -> None:
        async with Socket(app, tenant.admin_key, asgi=asgi) as socket:
            [payload] = await socket.run(CREATE_SIGNATURE, {"name": "over-a-socket"})

        assert payload["data"]["createSignature"]["id"]

    async def test_an_overlong_close_reason_is_cut_to_fit_a_frame(
        self, app: FastAPI, tenant: Tenant, asgi: bool
    ) -> None:
        async with Socket(app, tenant.admin_key, asgi=asgi) as socket:
            await socket.send({"type": "é" * 200})  # Strawberry echoes the unknown type
            code, reason = await socket.closed()

        assert code == 4400
        assert reason.startswith("Unknown message type: ")
        assert len(reason.encode()) <= 123


class TestMessageLimit:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(
            database_url, server=ServerSettings(gc_freeze=False, max_body_bytes=LIMIT)
        )

    async def test_a_message_over_the_body_limit_closes_with_1009_on_both(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient, asgi: bool
    ) -> None:
        async with Socket(app, tenant.admin_key, asgi=asgi) as socket:
            await socket.send({"id": "1", "type": "subscribe", "payload": {"query": "x" * LIMIT}})
            closed = await socket.closed()

        assert closed == (1009, f"Message too big: the limit is {LIMIT} bytes")


class TestHandshake:
    async def test_the_audit_log_has_the_sockets_request_id_agent_and_forwarded_address(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        headers = {
            "x-request-id": "socket-trace-7",
            "user-agent": "socket-tests/2.0",
            "x-forwarded-for": "203.0.113.9",  # uvicorn trusts 127.0.0.1 as a proxy by default
        }
        async with Socket(app, tenant.admin_key, headers=headers) as socket:
            [payload] = await socket.run(CREATE_SIGNATURE, {"name": "audited"})
        signature_id = payload["data"]["createSignature"]["id"]

        logs = await client.data(AUDITED, id=signature_id)

        assert logs["auditLogs"]["nodes"] == [
            {
                "action": "signature.create",
                "requestId": "socket-trace-7",
                "ipAddress": "203.0.113.9",
                "userAgent": "socket-tests/2.0",
            }
        ]

    @pytest.mark.parametrize(
        ("change", "status"),
        [
            ({"key": None}, b"400"),
            ({"key": "c2hvcnQ="}, b"400"),  # 5 bytes, not 16
            ({"version": "8"}, b"426"),
            ({"method": "POST"}, b"405"),
        ],
    )
    async def test_a_bad_handshake_is_refused_with_its_status(
        self, app: FastAPI, change: dict[str, Any], status: bytes
    ) -> None:
        url = (await served(app)).websocket_url
        head = await raw_request(url, **({"key": GOOD_KEY} | change))

        assert head.startswith(b"HTTP/1.1 " + status + b" "), head

    async def test_a_good_handshake_is_answered_as_the_rfc_says(self, app: FastAPI) -> None:
        head = await raw_request((await served(app)).websocket_url, key=GOOD_KEY)

        assert head.startswith(b"HTTP/1.1 101 "), head
        # the RFC 6455 example: this key is answered with this accept value
        assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
        assert b"\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n" in head

    async def test_a_page_on_another_origin_is_refused_with_403(self, app: FastAPI) -> None:
        url = (await served(app)).websocket_url
        with pytest.raises(InvalidStatus) as refused:
            await connect(
                url, origin=Origin("https://elsewhere.example"), subprotocols=TRANSPORT_WS
            )

        assert refused.value.response.status_code == 403

    async def test_an_upgrade_to_another_path_goes_to_the_app(self, app: FastAPI) -> None:
        url = (await served(app)).websocket_url.replace("/graphql", "/healthz")
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)

        assert refused.value.response.status_code == 403  # the app has no websocket route there

    async def test_no_subprotocol_in_common_closes_with_4406(self, app: FastAPI) -> None:
        url = (await served(app)).websocket_url
        async with connect(url, subprotocols=[Subprotocol("chat")]) as socket:
            await socket.wait_closed()

        assert socket.close_code == 4406


class TestKeepaliveAndShutdown:
    async def test_a_client_that_answers_no_ping_is_closed(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        started = await served(app, ws_ping_interval=0.05, ws_ping_timeout=0.05)
        reader, writer = await raw_connection(started.websocket_url)
        try:
            async with asyncio.timeout(10):  # well before the 60 s connection_init timeout
                frames = [await read_frame(reader), await read_frame(reader)]
        finally:
            writer.close()

        ping, close = frames
        assert ping[0] == 0x9
        assert close == (0x8, struct.pack("!H", 1011) + b"keepalive ping timeout")

    async def test_a_message_in_fragments_is_read_whole(self, app: FastAPI, tenant: Tenant) -> None:
        url = (await served(app)).websocket_url
        authorization = json.dumps(f"Bearer {tenant.admin_key}")
        async with connect(url, subprotocols=TRANSPORT_WS) as socket:
            await socket.send(
                [
                    '{"type": "connection_init",',
                    f' "payload": {{"authorization": {authorization}}}}}',
                ]
            )
            ack = json.loads(await socket.recv())

        assert ack == {"type": "connection_ack"}

    async def test_a_stopping_server_closes_open_sockets_with_1012(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        url = (await served(app)).websocket_url
        async with connect(url, subprotocols=TRANSPORT_WS) as socket:
            init = {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {tenant.admin_key}"},
            }
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv()) == {"type": "connection_ack"}
            await stop_serving(app)
            await socket.wait_closed()

        assert socket.close_code == 1012


class TestFlowControl:
    async def test_a_client_that_stops_reading_holds_up_no_one_and_loses_nothing(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        for number in range(BIG_SIGNATURES):
            await client.data(DESCRIBED, name=f"big-{number}", description="x" * 10_000)
        url = (await served(app)).websocket_url
        init = {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {tenant.admin_key}"},
        }
        # max_queue=1: the client stops reading its socket after one message it was not asked for
        async with connect(url, subprotocols=TRANSPORT_WS, max_size=None, max_queue=1) as slow:
            await slow.send(json.dumps(init))
            assert json.loads(await slow.recv()) == {"type": "connection_ack"}
            for id in range(BIG_ANSWERS):  # ~300 KiB each, ~18 MiB in all: past every buffer
                subscribe = {
                    "id": str(id),
                    "type": "subscribe",
                    "payload": {"query": ALL_SIGNATURES},
                }
                await slow.send(json.dumps(subscribe))

            async with Socket(app, tenant.admin_key) as other:
                [me] = await other.run("{ me { id } }")

            answers = [json.loads(await slow.recv()) for _ in range(2 * BIG_ANSWERS)]

        assert me["data"]["me"]["id"] == tenant.admin_id
        nexts = [a for a in answers if a["type"] == "next"]
        assert sorted(int(a["id"]) for a in nexts) == list(range(BIG_ANSWERS))
        assert all(
            len(a["payload"]["data"]["signatures"]["nodes"]) == BIG_SIGNATURES for a in nexts
        )
        assert sum(a["type"] == "complete" for a in answers) == BIG_ANSWERS


# -- a client below the websockets library ---------------------------------------------------


async def raw_connection(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(*host_and_port(url))
    writer.write(handshake(url, key=base64.b64encode(os.urandom(16)).decode()))
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer


async def raw_request(url: str, key: str | None, **changes: Any) -> bytes:
    reader, writer = await asyncio.open_connection(*host_and_port(url))
    try:
        writer.write(handshake(url, key, **changes))
        return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


def host_and_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
    return host, int(port)


def handshake(url: str, key: str | None, method: str = "GET", version: str = "13") -> bytes:
    lines = [
        f"{method} /graphql HTTP/1.1",
        f"Host: {url.removeprefix('ws://').split('/', 1)[0]}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Version: {version}",
        "Sec-WebSocket-Protocol: graphql-transport-ws",
    ]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The opcode and payload of the server's next frame."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)

"""The GraphQL endpoint's websockets, served below ASGI.

uvicorn hands every websocket upgrade to its `ws` protocol class; `dspex-gql serve` names
`WebSocketProtocol` (`ServerSettings.uvicorn_options`). An upgrade to the GraphQL path is served
here: the handshake (`websocket_handshake.py`), the frames (websockets' sans-I/O `Protocol`),
keepalive pings, flow control, and the router's own handlers (Strawberry's, both protocols) on a
websocket object with the part of Starlette's interface they use. An upgrade to any other path
goes on to uvicorn's own protocol and the ASGI app.

Why: on uvicorn's protocol an idle subscription held ~34 KiB, most of it per socket: the
protocol's queue and events, the request's and response's headers, a task running the app
through the middleware layers, Starlette's websocket. Here a socket is this object, the sans-I/O
connection and the handler's task: ~12-15 KiB, and less CPU to open (bench/README.md).

What the ASGI middleware does for a websocket is done here: a request id (from a sane
X-Request-ID, or new) with its logging scope, the message limit (a message over the body limit
closes the socket with 1009 unread), close reasons that fit a close frame, the client's address
behind a trusted proxy. The ASGI path (`router.GraphQLEndpoint`) still serves other servers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.utils import get_remote_addr
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions import ServerExtensionFactory
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Protocol, Side, State

from dspex_gql.graphql.context import Context
from dspex_gql.graphql.websocket_handshake import (
    Answer,
    Head,
    RawHeaders,
    Refused,
    answer,
    http_response,
    read_head,
    request_path,
    switching_protocols,
)
from dspex_gql.graphql.websocket_protocols import fitting_reason, too_big_reason
from dspex_gql.identity import Origin
from dspex_gql.observability.context import REQUEST_ID, incoming_request_id

if TYPE_CHECKING:
    from dspex_gql.graphql.router import Router

logger = logging.getLogger("uvicorn.error")

CLOSE_TIMEOUT = 10.0
"""How long a close frame we sent waits for the client's before the connection is dropped."""
HTTP_HEADERS_KEPT = ("authorization",)
"""What a socket keeps of its handshake's headers once open: `connection_init` falls back to the
handshake's Authorization header."""


@dataclass
class WebSocketEndpoint:
    """What the protocol serves, found on the app's state (`app.state.websocket_endpoint`)."""

    path: str
    router: Router
    max_message_bytes: int
    state: Any
    """The app's state: `runtime` is there once the app has started."""
    _proxy: tuple[Config, ProxyHeadersMiddleware] | None = None
    """uvicorn's proxy-header logic, for the config it was built from."""

    def client_host(
        self, config: Config, client: tuple[str, int] | None, headers: RawHeaders
    ) -> str | None:
        """The client's address; behind a trusted proxy the one X-Forwarded-For names, as
        uvicorn's ProxyHeadersMiddleware sets it for the ASGI app."""
        if client is None:
            return None
        if not config.proxy_headers:
            return client[0]
        if self._proxy is None or self._proxy[0] is not config:
            self._proxy = (config, ProxyHeadersMiddleware(_nothing, config.forwarded_allow_ips))
        scope = {"type": "websocket", "client": client, "headers": headers}
        _run_at_once(self._proxy[1](scope, _nothing, _nothing))  # type: ignore[arg-type]
        forwarded_client = cast(tuple[str, int], scope["client"])
        return forwarded_client[0]


async def _nothing(*_: object) -> None:
    return None


def _run_at_once(awaitable: Awaitable[None]) -> None:
    """Run a coroutine that never waits (the proxy middleware over `_nothing`)."""
    coroutine = awaitable.__await__()
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise RuntimeError("the coroutine waited")


def endpoint_of(config: Config) -> WebSocketEndpoint | None:
    """The served app's endpoint, past the middleware uvicorn wraps it in (each keeps `app`)."""
    app = config.loaded_app
    for _ in range(10):
        state = getattr(app, "state", None)
        endpoint = getattr(state, "websocket_endpoint", None) if state is not None else None
        if endpoint is not None:
            return endpoint  # type: ignore[no-any-return]
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def compression(config: Config) -> list[ServerExtensionFactory]:
    """permessage-deflate when the server accepts it, with uvicorn's settings."""
    if not config.ws_per_message_deflate:
        return []
    return [
        ServerPerMessageDeflateFactory(
            server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
        )
    ]


class FrameProtocol(Protocol):
    """Closes with the service's own words when a message is over the limit."""

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        if code == CloseCode.MESSAGE_TOO_BIG and self.max_message_size is not None:
            reason = too_big_reason(self.max_message_size)
        super().fail(code, reason)


class WebSocketProtocol(asyncio.Protocol):
    """One websocket: uvicorn's `ws` protocol class, and the websocket the router's handlers
    read and write (`accept`, `receive_text`, `send_text`, `close`, `headers`,
    `application_state`, as Starlette's `WebSocket` has them)."""

    __slots__ = (
        "_answer",
        "_binary",
        "_close_timer",
        "_drained",
        "_fragments",
        "_inbox",
        "_ping_payload",
        "_ping_timer",
        "_pong_timer",
        "_reading_paused",
        "_receiver",
        "app_state",
        "application_state",
        "client_state",
        "close_code",
        "close_reason",
        "config",
        "connection",
        "endpoint",
        "headers",
        "server_state",
        "subprotocols",
        "transport",
    )

    scope = {"type": "websocket"}
    """What Strawberry's FastAPI view looks at to tell a websocket from a request."""

    def __init__(
        self, config: Config, server_state: ServerState, app_state: dict[str, Any]
    ) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.transport: asyncio.Transport | None = None
        self.connection: FrameProtocol | None = None
        self.endpoint: WebSocketEndpoint | None = None
        self.headers: Any = {}
        self.subprotocols: list[str] = []
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        self.close_code: int = CloseCode.ABNORMAL_CLOSURE
        self.close_reason = ""
        self._answer: Answer | None = None
        self._inbox: list[str | bytes] = []
        self._fragments: list[bytes] = []
        self._binary = False
        self._receiver: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # -- the transport's calls -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        connection = self.connection
        if connection is None:
            self._start(data)  # uvicorn hands over the request head alone
            return
        connection.receive_data(data)
        for frame in connection.events_received():
            self._frame(cast(Frame, frame))  # a protocol past its handshake reads only frames
        if connection.parser_exc is not None:
            self._failed()
        else:
            self._write()

    def eof_received(self) -> None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(cast(Any, self))
        self._stop_keepalive()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.client_state = WebSocketState.DISCONNECTED
        self._wake_receiver()
        self._wake_writers()

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writers()

    def shutdown(self) -> None:
        """The server is stopping: 1012 (service restart) to an open socket."""
        self._stop_keepalive()
        if self.application_state == WebSocketState.CONNECTED and self._open():
            self._send_close(CloseCode.SERVICE_RESTART, "")
        self._close_transport()

    # -- the handshake ---------------------------------------------------------------------

    def _start(self, data: bytes) -> None:
        """Serve the upgrade if it is to the GraphQL path; if not, uvicorn's own protocol takes
        the connection."""
        endpoint = endpoint_of(self.config)
        if endpoint is None or request_path(data) != self.config.root_path + endpoint.path:
            self._hand_over(data)
            return
        self.endpoint = endpoint
        self.server_state.connections.add(cast(Any, self))
        head = read_head(data)
        try:
            self._answer = answer(head, compression(self.config))
        except Refused as refused:
            self._refuse(refused.status, refused.text)
            return
        self.connection = FrameProtocol(
            Side.SERVER, state=State.OPEN, max_size=endpoint.max_message_bytes, logger=logger
        )
        self.connection.extensions = self._answer.extensions
        self._handshake(head)

    def _hand_over(self, data: bytes) -> None:
        other = WebSocketsSansIOProtocol(self.config, self.server_state, self.app_state)
        assert self.transport is not None
        other.connection_made(self.transport)
        self.transport.set_protocol(other)
        other.data_received(data)

    def _handshake(self, head: Head) -> None:
        """Start the router on the socket: it checks the origin, picks the subprotocol, then
        accepts (or refuses) the handshake."""
        assert self.endpoint is not None
        headers = self.headers = head.headers
        offered = headers.get("sec-websocket-protocol", "")
        self.subprotocols = [name.strip() for name in offered.split(",") if name.strip()]
        client = get_remote_addr(self.transport)  # type: ignore[arg-type]
        origin = Origin(
            request_id=incoming_request_id(headers.get("x-request-id")) or uuid.uuid4().hex,
            ip_address=self.endpoint.client_host(self.config, client, head.raw),
            user_agent=headers.get("user-agent"),
        )
        task = asyncio.get_running_loop().create_task(self._serve(origin))
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    async def _serve(self, origin: Origin) -> None:
        assert self.endpoint is not None
        REQUEST_ID.set(origin.request_id)  # in this task's own context: nothing to reset
        context = Context(self.endpoint.state.runtime, origin, websocket=True)
        context.request = cast(WebSocket, self)
        try:
            await self.endpoint.router.run(cast(WebSocket, self), context, root_value=None)
        except Exception:
            logger.exception("Exception in the GraphQL websocket handler")
            if self.application_state == WebSocketState.CONNECTING:
                self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error\n")
        if self._close_timer is None:
            self._close_transport()

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        """An HTTP answer instead of the upgrade, then the end of the connection."""
        self.application_state = self.client_state = WebSocketState.DISCONNECTED
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(http_response(status, text, self.server_state.default_headers))
        self._close_transport()

    # -- what the handlers call (Starlette's WebSocket interface) ----------------------------

    async def accept(self, subprotocol: str | None = None) -> None:
        assert self._answer is not None
        assert self.transport is not None
        agreed, self._answer = self._answer, None
        default_headers = self.server_state.default_headers
        self.transport.write(switching_protocols(agreed, subprotocol, default_headers))
        self.application_state = self.client_state = WebSocketState.CONNECTED
        self.headers = {
            name: value for name in HTTP_HEADERS_KEPT if (value := self.headers.get(name))
        }
        self._schedule_ping()

    async def receive_text(self) -> str:
        while not self._inbox:
            if WebSocketState.DISCONNECTED in (self.application_state, self.client_state):
                self.application_state = WebSocketState.DISCONNECTED
                raise WebSocketDisconnect(self.close_code, self.close_reason)
            self._receiver = asyncio.get_running_loop().create_future()
            try:
                await self._receiver
            finally:
                self._receiver = None
        message = self._inbox.pop(0)
        if not self._inbox and self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        if isinstance(message, bytes):
            raise KeyError("text")  # as Starlette's receive_text: the handlers refuse it
        return message

    async def send_text(self, text: str) -> None:
        while self._drained is not None:
            await asyncio.shield(self._drained)
        if self.client_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE)
        if not self._open():
            return  # after our close frame: nothing more goes out
        assert self.connection is not None
        self.connection.send_text(text.encode())
        self._write()

    async def send_bytes(self, data: bytes) -> None:
        await self.send_text(data.decode())

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        if self.application_state == WebSocketState.CONNECTING:
            self._refuse(HTTPStatus.FORBIDDEN, "")  # before the handshake, as uvicorn does
            return
        self.application_state = WebSocketState.DISCONNECTED
        if self._open() and self.client_state != WebSocketState.DISCONNECTED:
            self._send_close(code, fitting_reason(reason or ""))
        self._wake_receiver()

    def __getitem__(self, key: str) -> object:
        """`websocket["subprotocols"]`, as Strawberry's FastAPI view reads it from the scope."""
        if key == "subprotocols":
            return self.subprotocols
        raise KeyError(key)

    # -- frames ------------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            self._data(frame)
        elif opcode == Opcode.PONG:
            self._pong(bytes(frame.data))
        elif opcode == Opcode.CLOSE:
            self._closed_by_client()

    def _data(self, frame: Frame) -> None:
        if frame.opcode != Opcode.CONT:
            self._binary = frame.opcode == Opcode.BINARY
        self._fragments.append(bytes(frame.data))
        if not frame.fin:
            return
        data = b"".join(self._fragments)
        self._fragments = []
        if self.application_state == WebSocketState.DISCONNECTED:
            return  # past our close: read on until the client's close frame, keep nothing
        self._inbox.append(data if self._binary else data.decode())
        self._wake_receiver()
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _closed_by_client(self) -> None:
        assert self.connection is not None
        received = self.connection.close_rcvd
        if received is not None:
            self.close_code, self.close_reason = received.code, received.reason
        self.client_state = WebSocketState.DISCONNECTED
        self._wake_receiver()
        self._write()  # the close frame websockets answers with, if we had not sent ours
        self._close_transport()

    def _failed(self) -> None:
        """A frame or a handshake websockets refused: its answer, then the end."""
        connection = self.connection
        assert connection is not None
        assert self.transport is not None
        if connection.close_sent is not None:
            self.close_code = connection.close_sent.code
            self.close_reason = connection.close_sent.reason
        output = connection.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.writelines(output)
        self.client_state = self.application_state = WebSocketState.DISCONNECTED
        self._wake_receiver()
        self._close_transport()

    # -- keepalive ---------------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if interval:
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if not self._open() or self.connection is None:
            return
        self._ping_payload = struct.pack("!I", random.getrandbits(32))
        self.connection.send_ping(self._ping_payload)
        self._write()
        timeout = self.config.ws_ping_timeout
        if timeout is None:
            self._schedule_ping()
        else:
            self._pong_timer = asyncio.get_running_loop().call_later(timeout, self._no_pong)

    def _pong(self, payload: bytes) -> None:
        if self._ping_payload is None or payload != self._ping_payload:
            return
        self._ping_payload = None
        if self._pong_timer is not None:
            self._pong_timer.cancel()
            self._pong_timer = None
            self._schedule_ping()

    def _no_pong(self) -> None:
        self._pong_timer = None
        if self.connection is None or not self._open():
            return
        self.connection.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
        self._failed()

    def _stop_keepalive(self) -> None:
        for timer in (self._ping_timer, self._pong_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = None
        self._ping_payload = None

    # -- plumbing ----------------------------------------------------------------------------

    def _open(self) -> bool:
        """Whether frames may still be sent: neither side has sent its close frame."""
        connection = self.connection
        return (
            connection is not None
            and connection.close_sent is None
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def _send_close(self, code: int, reason: str) -> None:
        assert self.connection is not None
        assert self.transport is not None
        self.close_code, self.close_reason = code, reason
        self.connection.send_close(code, reason)
        self._write()
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()  # to read the client's close frame
        self._close_timer = asyncio.get_running_loop().call_later(
            CLOSE_TIMEOUT, self._close_transport
        )

    def _write(self) -> None:
        assert self.connection is not None
        output = self.connection.data_to_send()
        if output and self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(output)

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _wake_receiver(self) -> None:
        if self._receiver is not None and not self._receiver.done():
            self._receiver.set_result(None)

    def _wake_writers(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

"""A GraphQL websocket's opening handshake (RFC 6455, 4.2), read from the request head uvicorn
hands over, and answered.

uvicorn has already parsed the request with httptools and checked its `Upgrade` and `Connection`
headers; parsing the head again with websockets' HTTP reader took about a third of the CPU of
opening a socket. Here the head is split once into a dict, and only a client offering
compression to a server that accepts it goes through websockets' extension negotiation.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake
from websockets.extensions import Extension, ServerExtensionFactory
from websockets.server import ServerProtocol
from websockets.utils import accept_key

RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Head:
    method: str
    path: str
    """Unquoted, without the query string."""
    headers: dict[str, str]
    """By lowercase name; a repeated header's values joined with ", "."""
    raw: RawHeaders


@dataclass(frozen=True, slots=True)
class Answer:
    """An accepted handshake: what the 101 response says, and the extensions agreed."""

    accept: str
    extensions_header: str | None
    extensions: list[Extension]


class Refused(Exception):
    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def request_path(head: bytes) -> str:
    """The path of a request head (`GET /graphql?x HTTP/1.1` → `/graphql`)."""
    line = head.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    target = parts[1] if len(parts) > 2 else b""
    return unquote(target.split(b"?", 1)[0].decode("latin-1"))


def read_head(data: bytes) -> Head:
    """The request line and headers of a head as uvicorn rebuilds it (well-formed: its parser
    accepted it)."""
    lines = data.split(b"\r\n")
    method = lines[0].split(b" ", 1)[0].decode("latin-1")
    headers: dict[str, str] = {}
    raw: RawHeaders = []
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        raw.append((name, value))
        text_name, text = name.decode("latin-1"), value.decode("latin-1")
        headers[text_name] = f"{headers[text_name]}, {text}" if text_name in headers else text
    return Head(method, request_path(data), headers, raw)


def answer(head: Head, extensions: list[ServerExtensionFactory]) -> Answer:
    """The handshake accepted, or `Refused` with the status to answer with."""
    if head.method != "GET":
        raise Refused(HTTPStatus.METHOD_NOT_ALLOWED, "A websocket opens with a GET request.\n")
    version = head.headers.get("sec-websocket-version")
    if version != "13":
        raise Refused(HTTPStatus.UPGRADE_REQUIRED, "Sec-WebSocket-Version must be 13.\n")
    key = head.headers.get("sec-websocket-key", "")
    try:
        valid_key = len(base64.b64decode(key.encode(), validate=True)) == 16
    except binascii.Error:
        valid_key = False
    if not valid_key:
        raise Refused(HTTPStatus.BAD_REQUEST, "Sec-WebSocket-Key must be 16 bytes in base64.\n")
    header, agreed = _negotiate(head, extensions)
    return Answer(accept_key(key), header, agreed)


def _negotiate(
    head: Head, extensions: list[ServerExtensionFactory]
) -> tuple[str | None, list[Extension]]:
    offered = head.headers.get("sec-websocket-extensions")
    if not offered or not extensions:
        return None, []
    try:
        return ServerProtocol(extensions=extensions).process_extensions(
            Headers([("Sec-WebSocket-Extensions", offered)])
        )
    except InvalidHandshake as error:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{error}\n") from None


def switching_protocols(
    agreed: Answer, subprotocol: str | None, default_headers: RawHeaders
) -> bytes:
    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + agreed.accept.encode(),
    ]
    if agreed.extensions_header:
        lines.append(b"Sec-WebSocket-Extensions: " + agreed.extensions_header.encode())
    if subprotocol:
        lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode())
    return _head(lines, default_headers)


def http_response(status: HTTPStatus, text: str, default_headers: RawHeaders) -> bytes:
    """A refusal: a short plain-text answer, then the connection closes."""
    body = text.encode()
    lines = [
        f"HTTP/1.1 {status.value} {status.phrase}".encode(),
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Length: " + str(len(body)).encode(),
        b"Connection: close",
    ]
    if status == HTTPStatus.UPGRADE_REQUIRED:
        lines.append(b"Sec-WebSocket-Version: 13")
    return _head(lines, default_headers) + body


def _head(lines: list[bytes], default_headers: RawHeaders) -> bytes:
    names = {name.lower() for name, _ in default_headers}
    if b"date" not in names:
        lines.append(b"Date: " + email.utils.formatdate(usegmt=True).encode())
    lines += [name + b": " + value for name, value in default_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"

"""The request a piece of work is for: its id travels in a context variable, so every log line
the request causes carries it, and so do the lines of a run it starts (asyncio copies the
context into the run's task).

    with request_scope("3f2a…"):
        await app(scope, receive, send)     # logging.info(...) → request_id=3f2a…
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("dspex_request_id", default=None)
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def incoming_request_id(header: str | None) -> str | None:
    """A client's X-Request-ID, when it is sane enough to log and to echo."""
    return header if header is not None and SANE_REQUEST_ID.fullmatch(header) else None


def current_request_id() -> str | None:
    return REQUEST_ID.get()


@contextmanager
def request_scope(request_id: str | None) -> Iterator[None]:
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)

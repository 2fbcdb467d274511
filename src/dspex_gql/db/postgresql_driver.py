"""PostgreSQL through asyncpg, with a liveness check of one round trip, or none.

The pool checks every connection before handing it out (`pool_pre_ping`: one the server dropped,
after a restart say, is replaced before a request uses it). SQLAlchemy's asyncpg adapter checks
with three round trips: BEGIN, `;` and ROLLBACK, the transaction keeping asyncpg's prepared `;`
on one server connection behind pgbouncer's transaction pooling. `SELECT 1` sent by the simple
query protocol (asyncpg's `execute` without arguments) prepares nothing, so one trip does:
checkout, `SELECT 1` and checkin took 605 µs against 796 with SQLAlchemy's check on this machine
(`python -m bench.pings`).

A connection the pool took back less than `PING_AFTER_IDLE_SECONDS` ago is checked without a
round trip: asyncpg marks a connection closed as soon as the event loop reads the server's
goodbye or the socket's end (a restart, `pg_terminate_backend`, a proxy that closes), and then
the `SELECT 1` fails at once and the pool replaces the connection. What only a round trip finds
(a link that went silent) would hold up the request's first statement as long as the check; a
connection idle for longer (a firewall may have forgotten it) is checked with one.

Given to `create_async_engine(module=...)`, it replaces only the DB-API layer under SQLAlchemy's
own asyncpg dialect; like `sqlite_driver.py`, it relies on the adapter's `_connection` and
`_async_ping`, which SQLAlchemy's own code uses.
"""

from __future__ import annotations

import math
import time
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.util.concurrency import await_

PING_AFTER_IDLE_SECONDS = 10.0
"""A connection back in the pool for less than this is lent without a round trip, unless closed."""


class OneTripPingConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ("returned_at",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.returned_at = -math.inf
        """`time.monotonic()` when the pool last took it back (`returned_to_pool`)."""

    async def _async_ping(self) -> None:
        connection: asyncpg.Connection = self._connection
        if connection.is_closed() or self.idle_seconds() > PING_AFTER_IDLE_SECONDS:
            await connection.execute("SELECT 1")  # on a closed connection: fails, with no I/O

    def idle_seconds(self) -> float:
        return time.monotonic() - self.returned_at


def returned_to_pool(dbapi_connection: Any, _record: Any) -> None:
    """The pool's "checkin" event: how long a connection has been idle is counted from here."""
    if isinstance(dbapi_connection, OneTripPingConnection):
        dbapi_connection.returned_at = time.monotonic()


class OneTripPingDBAPI(AsyncAdapt_asyncpg_dbapi):
    """asyncpg as SQLAlchemy's dialect expects it, with `OneTripPingConnection`s."""

    def __init__(self) -> None:
        super().__init__(asyncpg)  # type: ignore[no-untyped-call]

    def connect(self, *arg: Any, **kw: Any) -> OneTripPingConnection:
        creator = kw.pop("async_creator_fn", asyncpg.connect)
        cache_size = kw.pop("prepared_statement_cache_size", 100)
        name_func = kw.pop("prepared_statement_name_func", None)
        connection: OneTripPingConnection = await_(
            OneTripPingConnection.create(
                self,
                creator(*arg, **kw),
                prepared_statement_cache_size=cache_size,
                prepared_statement_name_func=name_func,
            )
        )
        return connection

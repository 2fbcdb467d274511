"""PostgreSQL through asyncpg, with a liveness check of one round trip.

The pool checks every connection before handing it out (`pool_pre_ping`: one the server dropped,
after a restart say, is replaced before a request uses it). SQLAlchemy's asyncpg adapter checks
with three round trips: BEGIN, `;` and ROLLBACK, the transaction keeping asyncpg's prepared `;`
on one server connection behind pgbouncer's transaction pooling. `SELECT 1` sent by the simple
query protocol (asyncpg's `execute` without arguments) prepares nothing, so one trip does. Every
transaction pays for the check: checkout, `SELECT 1` and checkin took 605 µs against 796 with
SQLAlchemy's check on this machine (`python -m bench.pings`).

Given to `create_async_engine(module=...)`, it replaces only the DB-API layer under SQLAlchemy's
own asyncpg dialect; like `sqlite_driver.py`, it relies on the adapter's `_connection` and
`_async_ping`, which SQLAlchemy's own code uses.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.util.concurrency import await_


class OneTripPingConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ()

    async def _async_ping(self) -> None:
        connection: asyncpg.Connection = self._connection
        await connection.execute("SELECT 1")


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

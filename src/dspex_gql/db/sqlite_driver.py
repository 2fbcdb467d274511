"""SQLite through aiosqlite, one trip to its thread per statement.

SQLAlchemy's aiosqlite adapter makes a trip to aiosqlite's worker thread for each DB-API call of
a statement: open a cursor, execute, fetch the rows, close the cursor — four for a SELECT. Every
trip is a queue put, a thread wake-up and an event-loop wake-up (~20 µs on an idle machine, more
when both cores are busy), while SQLite itself answers an indexed query in a few µs. This cursor
does the four calls in one trip and keeps what SQLAlchemy reads afterwards (description, rowcount,
lastrowid, the rows). Given to `create_async_engine(module=...)`, it replaces only the DB-API
layer under SQLAlchemy's own aiosqlite dialect; connections, transactions, errors and
server-side cursors are SQLAlchemy's as before.

aiosqlite's `Connection._execute` (its queue of calls to the thread) is private API, as the
`_tx` queue and `_conn` that SQLAlchemy's dialect already uses are.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, NamedTuple

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


class _Outcome(NamedTuple):
    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In aiosqlite's thread: the whole statement, cursor opened and closed."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; there is no aiosqlite cursor."""

    __slots__ = ("_outcome", "arraysize")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome = _Outcome(None, -1, None, [])
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> int:
        return self._outcome.lastrowid  # type: ignore[return-value]

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            self._outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection, operation, parameters, many
            )
        self._rows = collections.deque(self._outcome.rows)

    def nextset(self) -> None:
        raise NotImplementedError("SQLite has one result set per statement")

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    @property
    def in_transaction(self) -> bool:
        """Whether SQLite has a transaction open on this connection: a flag read, no trip."""
        try:
            return bool(self._connection.in_transaction)
        except (ValueError, sqlite3.ProgrammingError):  # closed: nothing left to end
            return False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's dialect expects it, with `OneTripConnection`s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)

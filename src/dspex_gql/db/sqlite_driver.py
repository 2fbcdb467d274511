"""SQLite through aiosqlite, one trip to its thread per statement, or fewer.

SQLAlchemy's aiosqlite adapter makes a trip to aiosqlite's worker thread for each DB-API call of
a statement: open a cursor, execute, fetch the rows, close the cursor — four for a SELECT. Every
trip is a queue put, a thread wake-up and an event-loop wake-up (~20 µs on an idle machine, more
when both cores are busy), while SQLite itself answers an indexed query in a few µs. This cursor
does the four calls in one trip and keeps what SQLAlchemy reads afterwards (description, rowcount,
lastrowid, the rows). Given to `create_async_engine(module=...)`, it replaces only the DB-API
layer under SQLAlchemy's own aiosqlite dialect; connections, transactions, errors and
server-side cursors are SQLAlchemy's as before.

A statement executed with the execution option `SEND_WITH_NEXT` is held and goes in the trip of
the next statement whose answer is awaited, or of the commit: a reading transaction's `BEGIN`,
and rows written at commit (`db/bulk.py`), whose results nobody reads. A unit of work that reads
a program and writes an execution and its audit row makes three trips (BEGIN IMMEDIATE, SELECT,
then INSERT, INSERT and COMMIT) instead of five. An error of a held statement is raised by the
statement it went with (SQLite stops there; a note on the error names the held statement); a
rollback drops what is held, and a transaction whose BEGIN is still held ends without a trip.

A transaction that only read (BEGIN DEFERRED, no change since) is rolled back without waiting:
the ROLLBACK is queued to the thread, ahead of anything the connection is asked next, and the
caller goes on (a read unit of work makes one trip the caller waits for, not two). Should that
ROLLBACK fail (an I/O error), the thread closes the SQLite connection: the next statement on it
fails as on a lost connection, and SQLAlchemy's pool replaces it.

aiosqlite's `Connection._execute` (its queue of calls to the thread) is private API, as the
`_tx` queue and `_conn` that SQLAlchemy's dialect already uses are.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from functools import partial
from typing import Any, NamedTuple, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

logger = logging.getLogger(__name__)

SEND_WITH_NEXT = "send_with_next"
"""Execution option of one statement (never of a connection): send it with the next statement
that is answered, or with the commit; its result (rows, rowcount) is never read."""


class _Outcome(NamedTuple):
    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


_NOTHING = _Outcome(None, -1, None, [])


class _Statement(NamedTuple):
    operation: str
    parameters: Any
    many: bool

    @property
    def begins(self) -> bool:
        return self.operation.startswith("BEGIN")

    def execute(self, cursor: sqlite3.Cursor) -> None:
        if self.many:
            cursor.executemany(self.operation, self.parameters)
        elif self.parameters is None:
            cursor.execute(self.operation)
        else:
            cursor.execute(self.operation, self.parameters)


def _run(
    connection: aiosqlite.Connection, held: list[_Statement], statement: _Statement
) -> _Outcome:
    """In aiosqlite's thread: the held statements, then the whole statement, cursor opened and
    closed."""
    cursor = connection._conn.cursor()
    try:
        _execute_held(cursor, held)
        statement.execute(cursor)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _send(connection: aiosqlite.Connection, held: list[_Statement]) -> None:
    """In aiosqlite's thread: the held statements."""
    cursor = connection._conn.cursor()
    try:
        _execute_held(cursor, held)
    finally:
        cursor.close()


def _commit(connection: aiosqlite.Connection, held: list[_Statement]) -> None:
    """In aiosqlite's thread: the held statements, then COMMIT; if one of them fails, ROLLBACK
    (SQLAlchemy takes a failed commit as the transaction's end)."""
    try:
        _send(connection, held)
    except sqlite3.Error:
        connection._conn.rollback()
        raise
    connection._conn.commit()


def _rollback_or_close(connection: sqlite3.Connection) -> None:
    """In aiosqlite's thread, with nobody waiting for the answer."""
    try:
        connection.rollback()
    except sqlite3.Error:
        logger.warning(
            "a read transaction could not be rolled back: closing its connection", exc_info=True
        )
        connection.close()


def _execute_held(cursor: sqlite3.Cursor, held: list[_Statement]) -> None:
    for statement in held:
        try:
            statement.execute(cursor)
        except sqlite3.Error as error:
            error.add_note(f"raised by a statement sent ahead of it: {statement.operation[:300]}")
            raise


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; there is no aiosqlite cursor."""

    __slots__ = ("_outcome", "arraysize", "send_with_next")
    _awaitable_cursor_close = False
    _adapt_connection: OneTripConnection

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = cast(OneTripConnection, adapt_connection)
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome = _NOTHING
        self.arraysize = 1
        self.send_with_next = False
        """Set (from the statement's `SEND_WITH_NEXT` option) before `execute`."""

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
        statement = _Statement(operation, parameters, many)
        if self.send_with_next:
            self._adapt_connection.hold(statement)
            return
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            connection = adapted._aiosqlite
            self._outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection, adapted.take_held(), statement
            )
        self._rows = collections.deque(self._outcome.rows)

    def nextset(self) -> None:
        raise NotImplementedError("SQLite has one result set per statement")

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class HeldFirstServerSideCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """aiosqlite's own cursor (rows fetched as read), after what the connection holds is sent."""

    __slots__ = ()
    _adapt_connection: OneTripConnection

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._adapt_connection.send_held()
        return await super()._execute_async(operation, parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_changes_before_reading", "_rollback_queued", "held")
    _cursor_cls = OneTripCursor
    _ss_cursor_cls = HeldFirstServerSideCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.held: list[_Statement] = []
        """Statements executed with `SEND_WITH_NEXT`, not sent yet, in order."""
        self._changes_before_reading: int | None = None
        """SQLite's count of changed rows when a BEGIN DEFERRED was held; None in any other
        transaction."""
        self._rollback_queued = False
        """A ROLLBACK nobody waits for is queued, and nothing since."""

    def hold(self, statement: _Statement) -> None:
        if statement.begins:
            deferred = statement.operation == "BEGIN DEFERRED"
            self._changes_before_reading = self._total_changes() if deferred else None
        self.held.append(statement)

    def take_held(self) -> list[_Statement]:
        """Called for every trip."""
        held, self.held = self.held, []
        self._rollback_queued = False
        return held

    async def send_held(self) -> None:
        held = self.take_held()
        if held:
            async with self._execute_mutex:
                await self._aiosqlite._execute(_send, self._aiosqlite, held)  # type: ignore[no-untyped-call]

    @property
    def in_transaction(self) -> bool:
        """Whether SQLite has a transaction open on this connection, or one is held to open: a
        flag read, no trip."""
        if self.held:
            return True
        if self._rollback_queued:
            return False
        try:
            return bool(self._connection.in_transaction)
        except (ValueError, sqlite3.ProgrammingError):  # closed: nothing left to end
            return False

    def commit(self) -> None:
        held = self.take_held()
        self._changes_before_reading = None
        if not held:
            super().commit()
        elif not (len(held) == 1 and held[0].begins) and self._connection._connection:
            try:
                await_(self._aiosqlite._execute(_commit, self._aiosqlite, held))  # type: ignore[no-untyped-call]
            except Exception as error:
                self._handle_exception(error)

    def rollback(self) -> None:
        held = self.take_held()
        only_read = self._only_read()
        self._changes_before_reading = None
        if held and held[0].begins:  # a transaction whose BEGIN was held never opened
            return
        if only_read:
            connection = self._aiosqlite
            connection._tx.put_nowait((None, partial(_rollback_or_close, connection._conn)))
            self._rollback_queued = True
            return
        super().rollback()

    def _only_read(self) -> bool:
        before = self._changes_before_reading
        return before is not None and self._total_changes() == before

    def _total_changes(self) -> int | None:
        """Read in the event loop's thread while the connection is idle."""
        if not self._connection._connection:
            return None
        try:
            return int(self._aiosqlite._conn.total_changes)
        except sqlite3.ProgrammingError:  # closed underneath
            return None

    @property
    def _aiosqlite(self) -> aiosqlite.Connection:
        return cast(aiosqlite.Connection, self._connection)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's dialect expects it, with `OneTripConnection`s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)

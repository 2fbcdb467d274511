"""Engine and session factory; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE
for writing transactions (so a reader never fails to upgrade its lock mid-transaction)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from dspex_gql import json_codec
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.postgresql_driver import OneTripPingDBAPI, returned_to_pool
from dspex_gql.db.sqlite_driver import SEND_WITH_NEXT, OneTripCursor, OneTripDBAPI

SQLITE_BEGIN = "sqlite_begin"
SENT_WITH_NEXT = {SEND_WITH_NEXT: True}
"""The execution options of a statement whose result nobody reads: on SQLite it goes to the
database with the next one that is answered, or with the commit (`sqlite_driver`)."""
WAL_BACKSTOP_PAGES = 10_000
"""A commit checkpoints SQLite's WAL only past this many pages (~40 MB; SQLite's default: 1,000):
the service checkpoints in the background (`orchestrator/checkpoints.py`)."""
JSON_CODEC: dict[str, Any] = {
    "json_serializer": json_codec.dumps,
    "json_deserializer": json_codec.loads,
}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Every wait on the database is bounded: a silent link gives an error, not a hang."""
    if is_sqlite(settings.url):
        engine = create_async_engine(
            settings.url,
            module=OneTripDBAPI(),
            pool_reset_on_return=None,  # `_on_reset` below does it when there is something to do
            **_options(settings),
        )
        _configure_sqlite(engine, busy_timeout_ms=round(settings.statement_timeout_seconds * 1000))
        return engine
    engine = create_async_engine(
        settings.url,
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        module=OneTripPingDBAPI(),
        **_options(settings),
        pool_timeout=settings.connect_timeout_seconds,
        connect_args={
            "timeout": settings.connect_timeout_seconds,
            "command_timeout": settings.statement_timeout_seconds,
        },
    )
    event.listen(engine.sync_engine, "checkin", returned_to_pool)
    return engine


def _options(settings: DatabaseSettings) -> dict[str, Any]:
    """What engines of both dialects share. A statement's parameters are left out of errors (and
    so of the logs that carry them: they hold users' inputs and outputs) unless statements are
    echoed, which is for debugging."""
    return {"echo": settings.echo, "hide_parameters": not settings.echo, **JSON_CODEC}


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _unicode_lower(value: object) -> object:
    """SQLite's own lower() only folds ASCII; `contains`/`startsWith` promise to ignore case."""
    return value.lower() if isinstance(value, str) else value


def switch_to_wal(cursor: Any, wait_seconds: float) -> None:
    """`PRAGMA journal_mode=WAL` (it stays in the file). The switch of a new file needs it to
    itself and answers "locked" at once, without the busy timeout, while another process writes
    (replicas starting together): it is tried again until `wait_seconds` have passed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.05)  # in the driver's thread, at connect: the other process holds the file


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        switch_to_wal(cursor, busy_timeout_ms / 1000)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Statement journals (a statement whose triggers write, such as the executions' stats
        # triggers) in memory, not in temporary files: half of a 1,000-execution INSERT's time.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        """A connection coming back to the pool is rolled back only if it still has a
        transaction open. After a commit, or a session's own rollback, it has none; the pool's
        default reset rolled back anyway, one more trip to aiosqlite's thread per unit of work."""
        if state.asyncio_safe and dbapi_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        # BEGIN IMMEDIATE takes the write lock in a trip of its own: sent with the first
        # statement, it made `executeDag` ~1 ms slower (median; p99 +10 ms) with two processes
        # on one file (`bench.paired`), where it saved a trip with one. So did reading first, in
        # a reading transaction, then sending BEGIN IMMEDIATE with the rows and the COMMIT:
        # `executeProgram` +0.9 ms, `executeDag` +1.4 ms (median, two processes on one file).
        options = SENT_WITH_NEXT if mode == "DEFERRED" else None
        connection.exec_driver_sql(f"BEGIN {mode}", execution_options=options)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _hold(
        _connection: Connection,
        cursor: OneTripCursor,
        _statement: str,
        _parameters: Any,
        context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        if context is not None and context.execution_options.get(SEND_WITH_NEXT):
            cursor.send_with_next = True

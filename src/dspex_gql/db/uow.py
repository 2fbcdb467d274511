"""Unit of work: one transaction per use case, side effects only after commit.

    async with uow() as tx:
        repo = ProgramRepository(tx.session, actor.organization_id)
        program = await repo.add(...)
        tx.after_commit(lambda: orchestrator.submit(job))   # dropped on rollback

This is the only module that commits.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.bulk import EMPTY, Batch, Row, insert_together
from dspex_gql.db.engine import SQLITE_BEGIN, create_session_factory, is_sqlite

logger = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[object] | object]
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[AfterCommit] = []
        self._inserts: list[Batch] = []
        self._rows_of: dict[Table, list[Row]] = {}
        """The batch of `insert_at_commit`'s rows of each table."""

    def after_commit(self, action: AfterCommit) -> None:
        self._after_commit.append(action)

    def insert_at_commit(self, table: Table, row: Row) -> None:
        """A row nothing reads before commit (the audit log's, a run's as it starts), written
        with the others of its table just before commit, past the ORM's unit of work (`bulk`:
        every column given, rows of one table with the same keys)."""
        rows = self._rows_of.get(table)
        if rows is None:
            rows = self._rows_of[table] = []
            self._inserts.append(Batch(table, rows))
        rows.append(row)

    def insert_all_at_commit(self, table: Table, rows: Sequence[Row], same: Row = EMPTY) -> None:
        """As `insert_at_commit`, rows that all have the values of `same` besides their own."""
        self._inserts.append(Batch(table, rows, same))

    async def _write_inserts(self) -> None:
        """In one statement on PostgreSQL, in the order the tables came on SQLite (where a row
        must follow the row it references)."""
        await insert_together(self.session, self._inserts)

    async def _run_after_commit(self) -> None:
        for action in self._after_commit:
            try:
                result = action()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("after-commit action failed")


class NotOnlyInserts(RuntimeError):
    """A bug: `UnitOfWorkFactory.inserting()` was asked to write more than its inserts."""


def _refuse_orm_changes(session: AsyncSession) -> None:
    if session.new or session.dirty or session.deleted:
        raise NotOnlyInserts("a unit of work that only inserts has ORM objects to write")


class UnitOfWorkFactory:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        one_writer: bool = False,
        writer_wait_seconds: float = 15.0,
        autocommit_reads: bool = False,
    ) -> None:
        """`one_writer` (SQLite): this process's writing transactions take turns, first come
        first served, instead of polling the file lock against each other — under load, SQLite's
        busy handler let some writers lose every race for longer than the busy timeout.

        `autocommit_reads` (PostgreSQL): `read()` runs its statements outside a transaction. At
        READ COMMITTED, PostgreSQL's default and ours, each statement of a transaction reads the
        data as of its own start anyway: BEGIN and ROLLBACK were two round trips for nothing."""
        self._session_factory = session_factory
        self._writers = asyncio.Lock() if one_writer else None
        self._writer_wait_seconds = writer_wait_seconds
        self._read_options = AUTOCOMMIT if autocommit_reads else None

    @classmethod
    def of(cls, engine: AsyncEngine, settings: DatabaseSettings) -> UnitOfWorkFactory:
        """The units of work of the service's database, as its dialect wants them."""
        sqlite = is_sqlite(settings.url)
        return cls(
            create_session_factory(engine),
            one_writer=sqlite,
            writer_wait_seconds=settings.statement_timeout_seconds,
            autocommit_reads=not sqlite,
        )

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        """A writing transaction, committed when the block ends without an exception."""
        async with self._turn_to_write(), self._session_factory() as session:
            await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            tx = UnitOfWork(session)
            yield tx
            await tx._write_inserts()
            await session.commit()
        await tx._run_after_commit()

    @asynccontextmanager
    async def inserting(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that reads, then writes only rows given to `insert_at_commit` (a run's
        PENDING row and its audit row, say). On PostgreSQL its reads run outside a transaction,
        as `read()`'s, and its rows go in one statement, atomic by itself: BEGIN and COMMIT
        would be two round trips for nothing, since at READ COMMITTED the reads see the same
        either way. Elsewhere it is a writing transaction, as `__call__`'s.

        Only for blocks that write nothing else: on PostgreSQL a statement they executed would be
        committed on its own, at once. ORM objects added or changed in the block are refused
        (`NotOnlyInserts`, nothing written) rather than dropped."""
        if self._read_options is None:
            async with self() as tx:
                yield tx
                _refuse_orm_changes(tx.session)
            return
        async with self.read() as tx:  # its session, outside a transaction
            yield tx
            _refuse_orm_changes(tx.session)
            await tx._write_inserts()
        await tx._run_after_commit()

    @asynccontextmanager
    async def _turn_to_write(self) -> AsyncIterator[None]:
        """Raises TimeoutError (the database is unavailable) after `writer_wait_seconds`."""
        if self._writers is None:
            yield
            return
        async with asyncio.timeout(self._writer_wait_seconds):
            await self._writers.acquire()
        try:
            yield
        finally:
            self._writers.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """A read: never commits, never runs side effects; a transaction on SQLite, none on
        PostgreSQL (`autocommit_reads`)."""
        async with self._session_factory() as session:
            if self._read_options is not None:
                await session.connection(execution_options=self._read_options)
            yield UnitOfWork(session)

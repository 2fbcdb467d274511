"""Writing transactions on SQLite take turns within a process, in the order they asked; reads on
PostgreSQL run outside a transaction, and so do units of work that only insert."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine, create_session_factory
from dspex_gql.db.uow import NotOnlyInserts, UnitOfWork, UnitOfWorkFactory
from tests.support.external_services import POSTGRES, service_url

WAIT_SECONDS = 0.5


@pytest.fixture
async def sqlite_uow(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[UnitOfWorkFactory]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('uow') / 'uow.db'}"
    engine = create_engine(DatabaseSettings(url=url, statement_timeout_seconds=30))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE turns (writer INTEGER)"))
    sessions = create_session_factory(engine)
    yield UnitOfWorkFactory(sessions, one_writer=True, writer_wait_seconds=WAIT_SECONDS)
    await engine.dispose()


async def test_writers_are_served_in_the_order_they_came(sqlite_uow: UnitOfWorkFactory) -> None:
    """Before, they raced for the file lock through SQLite's busy handler (sleeps of up to
    100 ms between tries), and under load a writer could lose for longer than the busy timeout:
    the soak saw "database is locked" from executeProgram."""
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with sqlite_uow() as tx:
            await tx.session.execute(text("INSERT INTO turns VALUES (0)"))
            holding.set()
            await release.wait()

    async def writer(number: int) -> None:
        async with sqlite_uow() as tx:
            await tx.session.execute(text("INSERT INTO turns VALUES (:n)"), {"n": number})

    holder = asyncio.create_task(first())
    await holding.wait()
    writers = []
    for number in range(1, 21):
        writers.append(asyncio.create_task(writer(number)))
        await asyncio.sleep(0)  # each one asks before the next
    release.set()
    await asyncio.gather(holder, *writers)

    async with sqlite_uow.read() as tx:
        order = list(await tx.session.scalars(text("SELECT writer FROM turns ORDER BY rowid")))
    assert order == list(range(21))


async def test_a_writer_that_waits_too_long_is_told_the_database_is_unavailable(
    sqlite_uow: UnitOfWorkFactory,
) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with sqlite_uow():
            holding.set()
            await release.wait()  # longer than WAIT_SECONDS: released below

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(TimeoutError):
        async with sqlite_uow():
            pass
    release.set()
    await holder


@pytest.fixture
async def postgresql_uow() -> AsyncIterator[UnitOfWorkFactory]:
    settings = DatabaseSettings(url=service_url(POSTGRES, "PostgreSQL"))
    engine = create_engine(settings)
    yield UnitOfWorkFactory.of(engine, settings)
    await engine.dispose()


async def in_transaction(tx: UnitOfWork) -> bool:
    """Whether asyncpg's connection has a transaction open, after a statement."""
    await tx.session.execute(text("SELECT 1"))
    raw = await (await tx.session.connection()).get_raw_connection()
    return bool(raw.driver_connection.is_in_transaction())  # type: ignore[union-attr]


async def test_a_read_on_postgresql_opens_no_transaction_and_a_write_still_does(
    postgresql_uow: UnitOfWorkFactory,
) -> None:
    """At READ COMMITTED a read sees the same outside a transaction: BEGIN and ROLLBACK would be
    two round trips for nothing. The pool's connection goes back to transactions after it."""
    async with postgresql_uow.read() as tx:
        reading = await in_transaction(tx)
    async with postgresql_uow() as tx:
        writing = await in_transaction(tx)
    async with postgresql_uow.read() as tx:
        reading_again = await in_transaction(tx)

    assert (reading, writing, reading_again) == (False, True, False)


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = f"uow_parents_{uuid.uuid4().hex[:8]}"
    id: Mapped[int] = mapped_column(primary_key=True)


PARENTS = cast(Table, Parent.__table__)
CHILDREN = Table(
    f"uow_children_{uuid.uuid4().hex[:8]}",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey(PARENTS.c.id), nullable=False),
)


@asynccontextmanager
async def with_tables(url: str) -> AsyncIterator[UnitOfWorkFactory]:
    """The units of work of a database with the two tables above, as the service makes them."""
    settings = DatabaseSettings(url=url)
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield UnitOfWorkFactory.of(engine, settings)
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def uow(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[UnitOfWorkFactory]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('uow') / 'inserting.db'}"
    else:
        url = service_url(POSTGRES, "PostgreSQL")
    async with with_tables(url) as factory:
        yield factory


@pytest.fixture
async def postgresql_tables() -> AsyncIterator[UnitOfWorkFactory]:
    async with with_tables(service_url(POSTGRES, "PostgreSQL")) as factory:
        yield factory


async def parents(uow: UnitOfWorkFactory) -> list[int]:
    async with uow.read() as tx:
        return list(await tx.session.scalars(select(PARENTS.c.id).order_by(PARENTS.c.id)))


async def test_inserting_writes_its_rows_then_runs_what_follows_commit(
    uow: UnitOfWorkFactory,
) -> None:
    seen_after_commit: list[list[int]] = []

    async def after_commit() -> None:
        seen_after_commit.append(await parents(uow))

    async with uow.inserting() as tx:
        tx.insert_at_commit(PARENTS, {"id": 1})
        tx.insert_at_commit(CHILDREN, {"id": 10, "parent_id": 1})
        tx.after_commit(after_commit)

    assert seen_after_commit == [[1]]


async def test_inserting_writes_all_its_rows_or_none(uow: UnitOfWorkFactory) -> None:
    """The database refuses the second row (no such parent): the first is not written either,
    and nothing that follows commit runs."""
    ran: list[str] = []

    async def insert_a_child_without_its_parent() -> None:
        async with uow.inserting() as tx:
            tx.insert_at_commit(PARENTS, {"id": 1})
            tx.insert_at_commit(CHILDREN, {"id": 10, "parent_id": 2})
            tx.after_commit(lambda: ran.append("after commit"))

    with pytest.raises(IntegrityError):
        await insert_a_child_without_its_parent()

    assert await parents(uow) == []
    assert ran == []


async def test_inserting_refuses_orm_changes_and_writes_nothing(uow: UnitOfWorkFactory) -> None:
    async def insert_and_add() -> None:
        async with uow.inserting() as tx:
            tx.insert_at_commit(PARENTS, {"id": 1})
            tx.session.add(Parent(id=2))

    with pytest.raises(NotOnlyInserts):
        await insert_and_add()

    assert await parents(uow) == []


async def test_inserting_on_postgresql_opens_no_transaction_and_inserts_in_one_statement(
    postgresql_tables: UnitOfWorkFactory,
) -> None:
    """Two round trips fewer than BEGIN … COMMIT around its read and its INSERT."""
    statements: list[str] = []
    async with postgresql_tables.read() as tx:
        engine = (await tx.session.connection()).engine

    def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split(None, 1)[0])

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        async with postgresql_tables.inserting() as tx:
            reading = await in_transaction(tx)
            tx.insert_at_commit(PARENTS, {"id": 1})
            tx.insert_at_commit(CHILDREN, {"id": 10, "parent_id": 1})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)

    assert reading is False
    assert statements == ["SELECT", "WITH"]  # the read, then both tables' rows in one statement

"""Writing transactions on SQLite take turns within a process, in the order they asked; reads on
PostgreSQL run outside a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine, create_session_factory
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
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

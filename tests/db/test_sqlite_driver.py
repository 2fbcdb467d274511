"""The SQLite engine's one-trip cursor (`db/sqlite_driver.py`): every statement makes one trip to
aiosqlite's thread, or rides with the next one (a BEGIN, writes sent with the next statement or
the commit), and SQLAlchemy sees what the DB-API would have told it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import (
    SENT_WITH_NEXT,
    SQLITE_BEGIN,
    create_engine,
    create_session_factory,
)
from dspex_gql.db.uow import UnitOfWorkFactory


class TripCounter:
    """Counts the calls queued to one aiosqlite connection's thread."""

    def __init__(self, connection: Any) -> None:
        self.trips = 0
        self._execute = connection._execute
        connection._execute = self

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.trips += 1
        return await self._execute(*args, **kwargs)


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"))
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, size INT)")
            )
            await connection.commit()
            yield connection
    finally:
        await engine.dispose()


async def counter_of(connection: AsyncConnection) -> TripCounter:
    raw = await connection.get_raw_connection()
    return TripCounter(raw.driver_connection)


async def test_a_select_is_one_trip_and_returns_its_rows_and_columns(
    connection: AsyncConnection,
) -> None:
    await connection.execute(
        text("INSERT INTO items (name, size) VALUES (:name, :size)"),
        [{"name": "a", "size": 1}, {"name": "b", "size": 2}],
    )
    counter = await counter_of(connection)

    result = await connection.execute(text("SELECT name, size FROM items ORDER BY id"))

    assert counter.trips == 1
    assert list(result.keys()) == ["name", "size"]
    assert [tuple(row) for row in result] == [("a", 1), ("b", 2)]


async def test_writes_report_rowcount_and_lastrowid(connection: AsyncConnection) -> None:
    inserted = await connection.execute(text("INSERT INTO items (name, size) VALUES ('c', 3)"))
    counter = await counter_of(connection)  # after the transaction's BEGIN, a trip of its own

    many = await connection.execute(
        text("INSERT INTO items (name, size) VALUES (:name, 1)"), [{"name": "d"}, {"name": "e"}]
    )
    updated = await connection.execute(text("UPDATE items SET size = 9 WHERE size = 1"))
    missed = await connection.execute(text("UPDATE items SET size = 9 WHERE name = 'zz'"))

    assert counter.trips == 3
    assert inserted.lastrowid == 1
    assert many.rowcount == 2
    assert (updated.rowcount, missed.rowcount) == (2, 0)


async def test_driver_errors_are_sqlalchemys_and_the_connection_stays_usable(
    connection: AsyncConnection,
) -> None:
    await connection.execute(text("INSERT INTO items (name) VALUES ('dup')"))

    with pytest.raises(IntegrityError) as raised:
        await connection.execute(text("INSERT INTO items (name) VALUES ('dup')"))
    with pytest.raises(OperationalError):
        await connection.execute(text("SELECT nothing FROM nowhere"))

    assert raised.value.orig.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"  # type: ignore[union-attr]
    assert (await connection.execute(text("SELECT count(*) FROM items"))).scalar() == 1


async def test_rows_stream_in_the_order_asked(connection: AsyncConnection) -> None:
    await connection.execute(
        text("INSERT INTO items (name, size) VALUES (:name, :size)"),
        [{"name": f"n{index}", "size": index} for index in range(500)],
    )

    result = await connection.stream(text("SELECT size FROM items ORDER BY size DESC"))
    sizes = [row.size async for row in result]

    assert sizes == list(range(499, -1, -1))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
    yield engine
    await engine.dispose()


async def test_a_committed_unit_of_work_goes_back_to_the_pool_without_a_rollback(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        counter = await counter_of(connection)  # the pool hands the same connection back
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(text("INSERT INTO items (name) VALUES ('a')"))

    assert counter.trips == 2  # BEGIN with the INSERT, COMMIT: no reset after the commit


async def test_a_connection_returned_mid_transaction_is_rolled_back(engine: AsyncEngine) -> None:
    raw = await engine.raw_connection()  # bypasses SQLAlchemy's own transaction handling
    await raw.driver_connection.execute("BEGIN")  # type: ignore[union-attr]
    await raw.driver_connection.execute("INSERT INTO items (name) VALUES ('left open')")  # type: ignore[union-attr]
    raw.close()  # back to the pool, transaction open

    async with engine.connect() as connection:
        in_transaction = (await connection.get_raw_connection()).driver_connection.in_transaction  # type: ignore[union-attr]
        count = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()

    assert (in_transaction, count) == (False, 0)


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [
        ("journal_mode", "wal"),
        ("synchronous", 1),  # NORMAL: durable at checkpoints, safe in WAL mode
        ("foreign_keys", 1),
        ("temp_store", 2),  # MEMORY: trigger-writing statements journal in memory
    ],
)
async def test_every_connection_is_configured(
    connection: AsyncConnection, pragma: str, expected: object
) -> None:
    assert (await connection.execute(text(f"PRAGMA {pragma}"))).scalar() == expected


INSERT = "INSERT INTO items (name) VALUES (?)"


async def held_insert(connection: AsyncConnection, *names: str) -> None:
    await connection.exec_driver_sql(
        INSERT, [(name,) for name in names], execution_options=SENT_WITH_NEXT
    )


async def names_in(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(
            (await connection.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
        )


async def test_writes_sent_with_the_commit_make_one_trip_with_it(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        counter = await counter_of(connection)
        connection = await connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        await held_insert(connection, "a", "b")
        await held_insert(connection, "c")
        trips_before_commit = counter.trips
        await connection.commit()

    assert (trips_before_commit, counter.trips) == (1, 2)  # BEGIN IMMEDIATE; INSERTs and COMMIT
    assert await names_in(engine) == ["a", "b", "c"]


async def test_a_read_after_held_writes_sees_them_in_the_same_trip(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        counter = await counter_of(connection)
        await held_insert(connection, "a")
        count = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
        await connection.commit()

    assert (count, counter.trips) == (1, 2)  # BEGIN + INSERT + SELECT, then COMMIT


async def test_rows_streamed_after_held_writes_include_them(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await held_insert(connection, "a", "b")
        result = await connection.stream(text("SELECT name FROM items ORDER BY id"))
        streamed = [row.name async for row in result]
        await connection.rollback()

    assert streamed == ["a", "b"]
    assert await names_in(engine) == []


async def test_an_error_of_a_held_write_fails_the_commit_and_stores_nothing(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("CREATE UNIQUE INDEX unique_name ON items (name)"))
        await connection.commit()
        await held_insert(connection, "x")
        await held_insert(connection, "x")  # refused by the index, once sent
        with pytest.raises(IntegrityError) as raised:
            await connection.commit()
        await connection.rollback()
        await held_insert(connection, "y")
        await connection.commit()

    error = raised.value.orig
    assert error.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"  # type: ignore[union-attr]
    assert any(INSERT in note for note in getattr(error, "__notes__", []))
    assert await names_in(engine) == ["y"]


async def test_a_rollback_drops_held_writes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the BEGIN is sent with it
        await held_insert(connection, "dropped")
        await connection.rollback()

    assert await names_in(engine) == []


async def test_a_transaction_that_sends_nothing_makes_no_trip(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        counter = await counter_of(connection)
        await connection.begin()
        await connection.commit()
        await connection.begin()
        await connection.rollback()
        async with AsyncSession(bind=connection) as session:
            await session.connection()  # begins; the session's close ends it

    assert counter.trips == 0


async def test_a_unit_of_work_that_reads_and_writes_at_commit_makes_three_trips(
    engine: AsyncEngine,
) -> None:
    """As a run's start (`uow.inserting()`): BEGIN IMMEDIATE, the read, the rows with the
    COMMIT."""
    items = Table(
        "items", MetaData(), Column("id", Integer, primary_key=True), Column("name", Text)
    )
    unit_of_work = UnitOfWorkFactory(create_session_factory(engine), one_writer=True)
    async with engine.connect() as connection:
        counter = await counter_of(connection)

    async with unit_of_work.inserting() as tx:
        count = (await tx.session.execute(text("SELECT count(*) FROM items"))).scalar()
        tx.insert_at_commit(items, {"id": 1, "name": "a"})
        tx.insert_at_commit(items, {"id": 2, "name": "b"})

    assert (count, counter.trips) == (0, 3)
    assert await names_in(engine) == ["a", "b"]


async def test_a_read_transaction_ends_without_waiting_for_its_rollback(
    engine: AsyncEngine,
) -> None:
    reads = UnitOfWorkFactory(create_session_factory(engine))
    async with engine.connect() as connection:
        counter = await counter_of(connection)  # the pool hands the same connection back

    async with reads.read() as tx:
        before = (await tx.session.execute(text("SELECT count(*) FROM items"))).scalar()
    trips_of_the_read = counter.trips
    async with engine.connect() as other:  # the pooled one is free again: this is the same
        await other.execute(text("INSERT INTO items (name) VALUES ('later')"))
        await other.commit()
    async with reads.read() as tx:  # a new snapshot: the first read's transaction ended
        after = (await tx.session.execute(text("SELECT count(*) FROM items"))).scalar()

    assert trips_of_the_read == 1  # BEGIN DEFERRED and the SELECT; the ROLLBACK not awaited
    assert (before, after) == (0, 1)


async def test_a_transaction_that_wrote_waits_for_its_rollback(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        counter = await counter_of(connection)
        await connection.execute(text("INSERT INTO items (name) VALUES ('undone')"))
        await connection.rollback()
        trips = counter.trips

    assert trips == 2  # BEGIN with the INSERT, then the ROLLBACK, awaited: it held the write lock
    assert await names_in(engine) == []

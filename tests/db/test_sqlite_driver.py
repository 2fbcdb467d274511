"""The SQLite engine's one-trip cursor (`db/sqlite_driver.py`): every statement makes one trip to
aiosqlite's thread, and SQLAlchemy sees what the DB-API would have told it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine


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

    assert counter.trips == 3  # BEGIN, INSERT, COMMIT: no reset after the commit


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

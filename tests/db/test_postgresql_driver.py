"""PostgreSQL's pool check (`db/postgresql_driver.py`): one statement for a connection idle a
while, none for one just given back, and a connection the server dropped is still replaced
before a request uses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine
from dspex_gql.db.postgresql_driver import PING_AFTER_IDLE_SECONDS, OneTripPingConnection
from tests.support.databases import asyncpg_dsn
from tests.support.external_services import POSTGRES, service_url

OPENED = "SELECT 'opened'"


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=service_url(POSTGRES, "PostgreSQL")))
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(OPENED)
        yield engine
    finally:
        await engine.dispose()


async def server_pid(connection: AsyncConnection) -> int:
    raw = await connection.get_raw_connection()
    pid: int = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    return pid


async def plain_connection() -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(service_url(POSTGRES, "PostgreSQL")))


async def last_statement(pid: int) -> str:
    """The last statement the server connection `pid` was sent, from another connection."""
    watcher = await plain_connection()
    try:
        last: str = await watcher.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
    finally:
        await watcher.close()
    return last


async def pooled(connection: AsyncConnection) -> OneTripPingConnection:
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    assert isinstance(adapted, OneTripPingConnection)
    return adapted


async def test_a_connection_idle_a_while_is_checked_with_one_statement(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        idle = await pooled(connection)
    idle.returned_at -= PING_AFTER_IDLE_SECONDS + 1

    async with engine.connect() as checked:
        last = await last_statement(await server_pid(checked))

    assert last == "SELECT 1"  # SQLAlchemy's own check ends with ROLLBACK, its third statement


async def test_a_connection_given_back_just_now_is_lent_without_a_round_trip(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        pid = await server_pid(connection)
    before = await last_statement(pid)

    async with engine.connect() as lent:
        assert await server_pid(lent) == pid
        after = await last_statement(pid)

    assert after == before != "SELECT 1"


async def test_a_connection_the_server_dropped_is_replaced_before_use(
    engine: AsyncEngine,
) -> None:
    """Given back just now, so only asyncpg's own knowledge that it is closed tells: the server's
    goodbye, read by the event loop."""
    closed = asyncio.Event()
    async with engine.connect() as connection:
        dropped = await server_pid(connection)
        driver = (await connection.get_raw_connection()).driver_connection
        driver.add_termination_listener(lambda _: closed.set())  # type: ignore[union-attr]
    killer = await plain_connection()
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", dropped)
    finally:
        await killer.close()
    await closed.wait()

    async with engine.connect() as connection:
        answer = (await connection.exec_driver_sql("SELECT 41 + 1")).scalar_one()
        replacement = await server_pid(connection)

    assert answer == 42
    assert replacement != dropped

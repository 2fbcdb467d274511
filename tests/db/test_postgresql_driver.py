"""PostgreSQL's pool check (`db/postgresql_driver.py`): one statement, and a connection the
server dropped is still replaced before a request uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine
from tests.support.databases import asyncpg_dsn
from tests.support.external_services import POSTGRES, service_url


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=service_url(POSTGRES, "PostgreSQL")))
    try:
        async with engine.connect() as connection:  # opened now: the next checkout checks it
            await connection.exec_driver_sql("SELECT 1")
        yield engine
    finally:
        await engine.dispose()


async def server_pid(connection: AsyncConnection) -> int:
    raw = await connection.get_raw_connection()
    pid: int = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    return pid


async def plain_connection() -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(service_url(POSTGRES, "PostgreSQL")))


async def test_a_pooled_connection_is_checked_with_one_statement(engine: AsyncEngine) -> None:
    async with engine.connect() as checked:
        pid = await server_pid(checked)
        watcher = await plain_connection()
        try:
            last = await watcher.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        finally:
            await watcher.close()

    assert last == "SELECT 1"  # SQLAlchemy's own check ends with ROLLBACK, its third statement


async def test_a_connection_the_server_dropped_is_replaced_before_use(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        dropped = await server_pid(connection)
    killer = await plain_connection()
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", dropped)
    finally:
        await killer.close()

    async with engine.connect() as connection:
        answer = (await connection.exec_driver_sql("SELECT 41 + 1")).scalar_one()
        replacement = await server_pid(connection)

    assert answer == 42
    assert replacement != dropped

"""Migrations go up, down and up again on both databases, and match the models exactly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dspex_gql.db import migrations
from dspex_gql.models import Base
from tests.support.databases import create_database, drop_database
from tests.support.external_services import POSTGRES, service_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    server = service_url(POSTGRES, "PostgreSQL")
    url = await create_database(server, f"dspex_migrations_{uuid.uuid4().hex[:10]}")
    yield url
    await drop_database(server, make_url(url).database or "")


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    engine = create_async_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(compare)
    await engine.dispose()
    return diff


async def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    await migrations.upgrade(empty_database)
    assert await tables(empty_database) == set(Base.metadata.tables)

    await migrations.downgrade(empty_database, "base")
    assert await tables(empty_database) == set()
    assert await migrations.current_revision(empty_database) is None

    await migrations.upgrade(empty_database)
    assert await migrations.current_revision(empty_database) is not None


async def test_the_migrations_build_exactly_the_models(empty_database: str) -> None:
    await migrations.upgrade(empty_database)

    assert await differences(empty_database) == []

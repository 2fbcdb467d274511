"""Migrations go up, down and up again on both databases, and match the models exactly. On
PostgreSQL they also install procrastinate's job queue (tables, types, functions), and remove all
of it again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dspex_gql.db import migrations
from dspex_gql.jobs.tables import ours
from dspex_gql.models import Base
from tests.programs.helpers import STATS_QUERY
from tests.support.app import make_settings, running
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant

PROCRASTINATE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_workers",
    "procrastinate_periodic_defers",
}
PROCRASTINATE_OBJECTS = """
    SELECT 'relation ' || relname FROM pg_class WHERE relname LIKE 'procrastinate%'
    UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typname LIKE '%procrastinate%'
    UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proname LIKE 'procrastinate%'
    UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgname LIKE 'procrastinate%'
"""


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def procrastinate_objects(url: str) -> set[str]:
    """Everything named procrastinate_* in a PostgreSQL database (tables, indexes, sequences,
    types, functions, triggers), e.g. `{"function procrastinate_defer_jobs_v1", ...}`."""
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = set((await connection.execute(text(PROCRASTINATE_OBJECTS))).scalars())
    await engine.dispose()
    return names


def on_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


async def differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        return list(compare_metadata(context, Base.metadata))

    engine = create_async_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(compare)
    await engine.dispose()
    return diff


async def test_upgrade_downgrade_upgrade(fresh_database: str) -> None:
    queue = PROCRASTINATE_TABLES if on_postgresql(fresh_database) else set()

    await migrations.upgrade(fresh_database)
    assert await tables(fresh_database) == set(Base.metadata.tables) | queue

    await migrations.downgrade(fresh_database, "base")
    assert await tables(fresh_database) == set()
    assert await migrations.current_revision(fresh_database) is None
    if on_postgresql(fresh_database):
        assert await procrastinate_objects(fresh_database) == set()

    await migrations.upgrade(fresh_database)
    assert await migrations.current_revision(fresh_database) is not None


async def test_the_migrations_build_exactly_the_models(fresh_database: str) -> None:
    await migrations.upgrade(fresh_database)

    assert await differences(fresh_database) == []


@pytest.mark.parametrize("fresh_database", ["postgresql"], indirect=True)
async def test_procrastinate_s_objects_are_all_removed_by_its_downgrade(
    fresh_database: str,
) -> None:
    await migrations.upgrade(fresh_database, "0008")
    before = await procrastinate_objects(fresh_database)
    await migrations.upgrade(fresh_database, "0009")
    installed = await procrastinate_objects(fresh_database)

    await migrations.downgrade(fresh_database, "0008")

    assert before == set()
    assert {f"relation {table}" for table in PROCRASTINATE_TABLES} < installed
    assert {"function procrastinate_defer_jobs_v1", "type procrastinate_job_status"} < installed
    assert await procrastinate_objects(fresh_database) == set()


async def test_autogenerate_as_configured_finds_nothing_to_do(fresh_database: str) -> None:
    """`alembic check` runs env.py, whose filter keeps procrastinate's tables out of it."""
    await migrations.upgrade(fresh_database)

    engine = create_async_engine(fresh_database)
    async with engine.connect() as connection:
        await connection.run_sync(lambda sync: command.check(migrations.alembic_config(sync)))
    await engine.dispose()


async def test_program_stats_are_counted_from_the_history_on_upgrade(fresh_database: str) -> None:
    """0010 fills its running totals from the executions already stored."""
    await migrations.upgrade(fresh_database)
    settings = make_settings(fresh_database)
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            program = await create_program(client, configuration={"fail_on": {"question": "x"}})
            for question in ("a", "x", "b"):
                await execute(client, program["id"], inputs={"question": question}, wait=True)
            before = await client.data(STATS_QUERY, id=program["id"])

    await migrations.downgrade(fresh_database, "0009")
    await migrations.upgrade(fresh_database)

    async with running(settings) as app, GraphQLClient.for_app(app, tenant.admin_key) as client:
        after = await client.data(STATS_QUERY, id=program["id"])
    assert before["program"]["stats"]["executionCount"] == 3
    assert before["program"]["stats"]["failedCount"] == 1
    assert after == before

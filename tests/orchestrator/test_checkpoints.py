"""SQLite's WAL is checkpointed in the background, not by the commit that fills it
(`orchestrator/checkpoints.py`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine, is_sqlite
from dspex_gql.orchestrator.checkpoints import checkpoint
from dspex_gql.runtime import Runtime
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant

PAGES_A_COMMIT = 300
COMMITS = 6
"""1,800 pages of 4 KiB in all: SQLite's own checkpoint would have run past 1,000."""

CREATE_SIGNATURE = (
    'mutation { createSignature(input: {name: "wal", spec: "q -> a"}) { __typename } }'
)
FILL = f"""
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PAGES_A_COMMIT})
    INSERT INTO blobs SELECT randomblob(4000) FROM n"""


async def test_commits_leave_the_wal_to_the_checkpoint(tmp_path: Path) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}"))
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE blobs (data BLOB)")
        for _ in range(COMMITS):
            async with engine.begin() as connection:
                await connection.exec_driver_sql(FILL)

        done = await checkpoint(engine)
        again = await checkpoint(engine)
    finally:
        await engine.dispose()

    assert done.wal_pages >= PAGES_A_COMMIT * COMMITS  # nothing was checkpointed by a commit
    assert done.checkpointed_pages == done.wal_pages
    assert not done.busy
    assert again.checkpointed_pages == again.wal_pages  # nothing new to copy


async def test_the_service_checkpoints_what_its_requests_wrote(database_url: str) -> None:
    settings = make_settings(database_url)
    settings.database.sqlite_checkpoint_seconds = 0.01
    async with running(settings) as app:
        checkpoints = _runtime(app).checkpoints
        if not is_sqlite(database_url):
            assert checkpoints is None  # PostgreSQL has no WAL of ours to tend
            return
        assert checkpoints is not None
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            await client.data(CREATE_SIGNATURE)

        done = await checkpoints.next()

    assert done.wal_pages > 0
    assert done.checkpointed_pages == done.wal_pages


def _runtime(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime

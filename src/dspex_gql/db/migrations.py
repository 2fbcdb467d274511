"""Run alembic from code: at service start-up, from `dspex-gql migrate`, and in tests.

Migrations get their own engine. On SQLite it keeps foreign keys off: batch migrations copy and
drop tables, and a `DROP TABLE` with foreign keys on would cascade-delete the rows that refer to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import dspex_gql
from dspex_gql.db.engine import is_sqlite


def _script_location() -> Path:
    package = Path(dspex_gql.__file__).parent
    for candidate in (package / "migrations", package.parents[1] / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("alembic migrations not found beside the package or the project")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    config.attributes["connection"] = connection
    config.attributes["configure_logging"] = False
    return config


def _migration_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    if is_sqlite(url):

        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


async def _run(url: str, step: Callable[[Connection], Any]) -> Any:
    engine = _migration_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(step)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda sync: command.downgrade(alembic_config(sync), revision))


async def current_revision(url: str) -> str | None:
    revision: str | None = await _run(
        url, lambda sync: MigrationContext.configure(sync).get_current_revision()
    )
    return revision

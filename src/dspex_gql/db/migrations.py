"""Run alembic from code: at service start-up, from `dspex-gql migrate`, and in tests.

Migrations get their own engine. On SQLite it keeps foreign keys off: batch migrations copy and
drop tables, and a `DROP TABLE` with foreign keys on would cascade-delete the rows that refer to it.

Several processes may migrate one database at once (replicas starting together): each migrates in
one transaction that first takes a lock only one of them holds — `pg_advisory_xact_lock` on
PostgreSQL, the write lock (`BEGIN IMMEDIATE`) on SQLite. The others wait for it, then find the
database at its target and do nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import dspex_gql
from dspex_gql.db.engine import is_sqlite, switch_to_wal

logger = logging.getLogger(__name__)

LOCK_KEY = 0x6473_7078_6D69_6772
"""`pg_advisory_xact_lock`'s key for migrating ("dspxmigr"): one migration at a time."""
CONNECT_TIMEOUT_SECONDS = 10.0
SQLITE_LOCK_WAIT_MS = 600_000
"""How long a process waits for another's migration of the same SQLite file."""


class Steps(Protocol):
    """Told what a migration does as it goes (the CLI draws a progress bar)."""

    def planned(self, count: int | None) -> None:
        """`count` revisions to apply (None: alembic will say the target is wrong)."""

    def applied(self, description: str) -> None: ...


@dataclass(frozen=True)
class Revision:
    id: str
    description: str
    applied: bool
    current: bool


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
    if not is_sqlite(url):
        return create_async_engine(url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_MS}")
        switch_to_wal(cursor, SQLITE_LOCK_WAIT_MS / 1000)
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _write_lock(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def _run(url: str, step: Callable[[Connection], Any]) -> Any:
    engine = _migration_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(step)
    finally:
        await engine.dispose()


def _take_the_lock(connection: Connection) -> None:
    """On PostgreSQL, until the transaction ends (SQLite's `BEGIN IMMEDIATE` took its own)."""
    if connection.dialect.name != "postgresql":
        return
    taken = connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if not taken.scalar():
        logger.info("another process is migrating the database: waiting for it")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _migrate(direction: str, revision: str, steps: Steps | None) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        _take_the_lock(connection)
        config = alembic_config(connection)
        if steps is not None:
            current = MigrationContext.configure(connection).get_current_revision()
            steps.planned(_count(config, direction, current, revision))
            config.attributes["on_version_apply"] = lambda **info: steps.applied(_said(info))
        getattr(command, direction)(config, revision)

    return run


def _count(config: Config, direction: str, current: str | None, target: str) -> int | None:
    script = ScriptDirectory.from_config(config)
    upper, lower = (target, current) if direction == "upgrade" else (current, target)
    try:
        return len(list(script.iterate_revisions(upper, lower)))
    except RevisionError:
        return None


def _said(info: dict[str, Any]) -> str:
    step: MigrationInfo = info["step"]
    arrow = "up to" if step.is_upgrade else "down from"
    doc = str(getattr(step.up_revision, "doc", "") or "")  # a Script, typed as its Revision
    return f"{arrow} {step.up_revision_id}: {doc.splitlines()[0][:30] if doc else ''}"


async def upgrade(url: str, revision: str = "head", steps: Steps | None = None) -> None:
    await _run(url, _migrate("upgrade", revision, steps))


async def downgrade(url: str, revision: str, steps: Steps | None = None) -> None:
    await _run(url, _migrate("downgrade", revision, steps))


async def current_revision(url: str) -> str | None:
    revision: str | None = await _run(
        url, lambda sync: MigrationContext.configure(sync).get_current_revision()
    )
    return revision


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def history(url: str) -> list[Revision]:
    """Every revision, oldest first, and which are applied to the database at `url`."""
    current = await current_revision(url)
    script = ScriptDirectory.from_config(alembic_config())
    newest_first = list(script.walk_revisions())
    applied = (
        set()
        if current is None
        else {r.revision for r in script.iterate_revisions(current, "base")}
    )
    return [
        Revision(r.revision, r.doc, r.revision in applied, r.revision == current)
        for r in reversed(newest_first)
    ]

"""Replicas that start together migrate one database at once: one migrates, the others wait for
it and find nothing to do. The test makes them start at the same instant: it holds the lock
itself until every process is waiting for it, then lets go."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dspex_gql.db import migrations
from dspex_gql.models import Base
from tests.support.databases import asyncpg_dsn
from tests.support.processes import STARTUP_SECONDS, clean_env

REPLICAS = 4
WAITING_FOR_THE_LOCK = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted
      AND database = (SELECT oid FROM pg_database WHERE datname = $1)
"""


def start_migrations(url: str, workdir: Path) -> list[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "dspex_gql", "migrate"]
    env = clean_env(DSPEX_DATABASE_URL=url)
    return [
        subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(REPLICAS)
    ]


async def until_all_wait_on_postgresql(url: str, processes: list[subprocess.Popen[str]]) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database="postgres"
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while await connection.fetchval(WAITING_FOR_THE_LOCK, parsed.database) < REPLICAS:
            assert time.monotonic() < deadline, "the migrations never all waited for the lock"
            assert all(process.poll() is None for process in processes)
            await asyncio.sleep(0.05)  # polling other processes: there is no event to await
    finally:
        await connection.close()


async def until_all_opened(path: Path, processes: list[subprocess.Popen[str]]) -> None:
    """Each process has the SQLite file open: it is in (or right before) `BEGIN IMMEDIATE`."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not all(has_open(process.pid, path) for process in processes):
        assert time.monotonic() < deadline, "the migrations never all opened the database"
        assert all(process.poll() is None for process in processes)
        await asyncio.sleep(0.05)  # polling other processes: there is no event to await


def has_open(pid: int, path: Path) -> bool:
    descriptors = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(path.resolve()) for fd in descriptors.iterdir())
    except FileNotFoundError:
        return False


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[None]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return {name for name in names if not name.startswith("procrastinate")} - {"alembic_version"}


async def test_replicas_migrating_at_once_all_succeed_and_agree(
    fresh_database: str, tmp_path: Path
) -> None:
    url = fresh_database
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        with sqlite_write_lock(path):
            processes = start_migrations(url, tmp_path)
            await until_all_opened(path, processes)
    else:
        holder = await asyncpg.connect(asyncpg_dsn(url))
        await holder.execute("SELECT pg_advisory_lock($1)", migrations.LOCK_KEY)
        processes = start_migrations(url, tmp_path)
        await until_all_wait_on_postgresql(url, processes)
        await holder.close()  # lets go of the lock: all start at once

    results = [process.communicate(timeout=4 * STARTUP_SECONDS) for process in processes]

    assert [process.returncode for process in processes] == [0] * REPLICAS, results
    at_head = f"database at revision {migrations.head_revision()} (head)"
    assert all(out.strip() == at_head for out, _ in results), results
    assert await migrations.current_revision(url) == migrations.head_revision()
    assert await tables(url) == set(Base.metadata.tables)

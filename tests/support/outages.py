"""Outages of the database on demand, for runs that must come through them whole.

    @EACH_OUTAGE                                        # the database_url and fault parameters
    async def test_(outage: Outage) -> None:            # the `outage` fixture (tests/conftest.py)
        async with running(outage.settings) as app:     # the service, with short timeouts
            ...                                         # a run starts
            await until_a_run_tries_to_write(outage)    # unavailable until a write is refused

On PostgreSQL the service's connections go through a TCP proxy that is cut, or goes silent as
in a network partition; on SQLite another connection holds the file's write lock for longer
than the busy timeout ("database is locked"). The database is back once the service warns that
a write of a run failed and will be retried.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import pytest
from sqlalchemy.engine import make_url

from dspex_gql.config import DatabaseSettings, Settings
from tests.support.app import make_settings, with_lease
from tests.support.faults import TcpProxy

EACH_OUTAGE = pytest.mark.parametrize(
    ("database_url", "fault"),
    [
        pytest.param("sqlite", "locked", id="sqlite-file locked"),
        pytest.param("postgresql", "cut", id="postgresql-connection cut"),
        pytest.param("postgresql", "silent", id="postgresql-connection silent"),
    ],
    indirect=["database_url"],
)
QUIET_LEASE_SECONDS = 300
"""No lease renewal or sweep during a test: only the runs use the database."""
TIMEOUT_SECONDS = 0.3
"""The statement timeout: how long a write waits for a silent database or a locked file."""
BOUND_SECONDS = 30
"""Far longer than a run's next write takes to come: reached only when it never comes."""
RETRYING = ("progress could not be written", "the final state of")
"""The service's warnings of a write it will retry."""


class Outage(Protocol):
    settings: Settings

    async def begin(self) -> None:
        """The database becomes unavailable."""

    def end(self) -> None:
        """It is available again."""


def short_waits(database_url: str, connect_to: str) -> Settings:
    """The test settings of `database_url`, the service connecting to `connect_to`, waiting for
    a connection or a statement `TIMEOUT_SECONDS`, with a quiet lease."""
    database = DatabaseSettings(
        url=connect_to,
        migrate_on_start=False,
        connect_timeout_seconds=TIMEOUT_SECONDS,
        statement_timeout_seconds=TIMEOUT_SECONDS,
    )
    return with_lease(make_settings(database_url, database=database), QUIET_LEASE_SECONDS)


class ProxiedConnection:
    """PostgreSQL: the service's connections go through a proxy that is cut, or silenced (bytes
    held back, as in a network partition: each wait ends at its timeout)."""

    def __init__(self, database_url: str, proxy: TcpProxy, silent: bool) -> None:
        self.settings = short_waits(database_url, proxy.url_for(database_url))
        self.proxy = proxy
        self.silent = silent

    async def begin(self) -> None:
        if self.silent:
            self.proxy.silence()
        else:
            self.proxy.cut()

    def end(self) -> None:
        self.proxy.restore()


class HeldWriteLock:
    """SQLite: another connection holds the write lock; the service's writers wait for it as
    long as their busy timeout (the statement timeout) and then fail."""

    def __init__(self, database_url: str) -> None:
        self.path = make_url(database_url).database or ""
        self.settings = short_waits(database_url, database_url)
        self.locker: sqlite3.Connection | None = None

    async def begin(self) -> None:
        self.locker = sqlite3.connect(
            self.path, timeout=10, isolation_level=None, check_same_thread=False
        )
        await asyncio.to_thread(self.locker.execute, "BEGIN IMMEDIATE")

    def end(self) -> None:
        if self.locker is not None:
            self.locker.close()  # rolls back, which lets the lock go


class RetriedWrites(logging.Handler):
    """Set once the service says a write of a run failed and will be retried."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(RETRYING):
            self.seen.set()


def outage_of(request: pytest.FixtureRequest, database_url: str, fault: str) -> Outage:
    if fault == "locked":
        return HeldWriteLock(database_url)
    proxy: TcpProxy = request.getfixturevalue("database_proxy")
    return ProxiedConnection(database_url, proxy, silent=fault == "silent")


@asynccontextmanager
async def unavailable(outage: Outage) -> AsyncIterator[None]:
    """The database unavailable for the block."""
    await outage.begin()
    try:
        yield
    finally:
        outage.end()


async def until_a_run_tries_to_write(outage: Outage) -> None:
    """The database unavailable until the service says a write of a run failed."""
    retried = RetriedWrites()
    reporter = logging.getLogger("dspex_gql.orchestrator.reporter")
    reporter.addHandler(retried)
    try:
        async with unavailable(outage), asyncio.timeout(BOUND_SECONDS):
            await retried.seen.wait()
    finally:
        reporter.removeHandler(retried)

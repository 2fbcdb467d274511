"""Real databases, a real app, real HTTP.

The suite runs on SQLite always, and on PostgreSQL when DSPEX_TEST_DATABASE_URL is set (each run
migrates a fresh database on that server). Every test gets its own app and its own organization,
so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from dspex_gql.app import create_app
from dspex_gql.config import (
    AuthSettings,
    BroadcastSettings,
    DatabaseSettings,
    ExecutionSettings,
    LimitsSettings,
    ServerSettings,
    Settings,
)
from dspex_gql.db import migrations
from tests.client import GraphQLClient
from tests.databases import create_database, drop_database
from tests.services import POSTGRES, REDIS, service_url
from tests.tenants import Tenant, new_tenant

hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
"""Property tests: new random examples on every local run (they found real bugs); the same
examples in CI (`.ci/run` sets HYPOTHESIS_PROFILE=ci), so a landing never hangs on luck. No
deadline: a busy 2-core machine is not a slow function."""

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

TEST_CONNECT_TIMEOUT_SECONDS = 30.0
TEST_STATEMENT_TIMEOUT_SECONDS = 60.0
"""The production bounds (5 s, 15 s) are for a silent link; on a loaded 2-core CI machine a
PostgreSQL connect once took longer than 5 s. The drills that test the bounds set their own."""


def pytest_report_header() -> list[str]:
    return [
        f"PostgreSQL: {os.environ.get(POSTGRES) or f'skipped ({POSTGRES} not set)'}",
        f"Redis: {os.environ.get(REDIS) or f'skipped ({REDIS} not set)'}",
    ]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A freshly migrated database of each kind, shared by the whole session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'dspex.db'}"
        await migrations.upgrade(url)
        yield url
        return
    server = service_url(POSTGRES, "PostgreSQL")
    url = await create_database(server, f"dspex_test_{uuid.uuid4().hex[:10]}")
    await migrations.upgrade(url)
    yield url
    await drop_database(server, make_url(url).database or "")


def make_settings(database_url: str, **sections: object) -> Settings:
    defaults: dict[str, object] = {
        "database": DatabaseSettings(
            url=database_url,
            migrate_on_start=False,
            connect_timeout_seconds=TEST_CONNECT_TIMEOUT_SECONDS,
            statement_timeout_seconds=TEST_STATEMENT_TIMEOUT_SECONDS,
        ),
        "broadcast": BroadcastSettings(url="memory://", heartbeat_seconds=1.0),
        "execution": ExecutionSettings(shutdown_grace_seconds=0, progress_interval_ms=20),
        "server": ServerSettings(gc_freeze=False),
        "auth": AuthSettings(
            jwt_secret=TEST_JWT_SECRET,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
        ),
        "limits": LimitsSettings(requests_per_second=1000, request_burst=1000),
    }
    return Settings(**(defaults | sections))  # type: ignore[arg-type]


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app with these settings, started, and stopped at the end of the block."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def tenant(app: FastAPI) -> Tenant:
    """A fresh organization of the test's app, with its admin and the admin's API key."""
    return await new_tenant(app)


@pytest.fixture
async def client(app: FastAPI, tenant: Tenant) -> AsyncIterator[GraphQLClient]:
    """The tenant's admin, signed in with an API key."""
    async with GraphQLClient.for_app(app, tenant.admin_key) as graphql:
        yield graphql


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason, so what did not run is plain to see."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else "skipped"
        reasons[reason.removeprefix("Skipped: ")] = (
            reasons.get(reason.removeprefix("Skipped: "), 0) + 1
        )
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED {count} tests: {reason}", yellow=True)

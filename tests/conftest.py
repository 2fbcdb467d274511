"""Real databases, a real app, real HTTP.

The suite runs on SQLite always, and on PostgreSQL when DSPEX_TEST_DATABASE_URL is set (each run
migrates a fresh database on that server). Every test gets its own app and its own organization,
so tests never see each other's rows. What tests share beyond these fixtures is in
`tests/support/`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from dspex_gql.config import Settings
from dspex_gql.db import migrations
from tests.support.app import close_leftover_listeners, make_settings, running
from tests.support.databases import create_database, drop_database
from tests.support.external_services import POSTGRES, REDIS, service_url
from tests.support.faults import TcpProxy
from tests.support.http_client import GraphQLClient
from tests.support.outages import Outage, outage_of
from tests.support.tenants import Tenant, new_tenant

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
"""Never fetch a model price table from the internet (DSPy's optimizers may reach litellm)."""

hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
"""Property tests: new random examples on every local run (they found real bugs); the same
examples in CI (`.ci/run` sets HYPOTHESIS_PROFILE=ci), so a landing never hangs on luck. No
deadline: a busy 2-core machine is not a slow function."""


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


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind (not migrated) for this test alone: for migrations and
    for processes started on a database of their own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    server = service_url(POSTGRES, "PostgreSQL")
    url = await create_database(server, f"dspex_fresh_{uuid.uuid4().hex[:10]}")
    yield url
    await drop_database(server, make_url(url).database or "")


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy to the database server of `database_url`, to cut or silence (PostgreSQL: SQLite
    has no connection to cut)."""
    target = urlsplit(database_url.replace("+asyncpg", ""))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def outage(request: pytest.FixtureRequest, database_url: str, fault: str) -> Outage:
    """The database's outage of the test's `fault` parameter (`tests/support/outages.py`)."""
    return outage_of(request, database_url, fault)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings) as application:
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    close_leftover_listeners()


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

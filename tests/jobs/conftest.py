"""A migrated PostgreSQL database (the session's `database_url`, PostgreSQL only, where
procrastinate's queue exists: `external_services.ON_POSTGRESQL`), our sessions on it, and
procrastinate's app on it for each test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import procrastinate
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine, create_session_factory
from dspex_gql.jobs.app import procrastinate_app
from tests.jobs.support import Recorder


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(DatabaseSettings(url=database_url))
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def queue() -> str:
    """A queue of this test's own: workers of other tests never take its jobs."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
async def jobs_app(database_url: str, handler: Recorder) -> AsyncIterator[procrastinate.App]:
    async with procrastinate_app(database_url, handler).open_async() as app:
        yield app

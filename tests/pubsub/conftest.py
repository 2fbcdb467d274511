import uuid
from collections.abc import AsyncIterator

import pytest

from dspex_gql.pubsub import Hub
from tests.support.pubsub import backend_url


@pytest.fixture(params=["memory", "redis", "postgres"])
def hub_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request.param)


@pytest.fixture(params=["redis", "postgres"])
def networked_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request.param)


@pytest.fixture
async def hub(hub_url: str) -> AsyncIterator[Hub]:
    async with Hub(hub_url, heartbeat_interval=1.0) as hub:
        yield hub


@pytest.fixture
def channel() -> str:
    return f"test.{uuid.uuid4().hex}"

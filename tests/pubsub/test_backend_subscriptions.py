"""One backend subscription per channel per process, seen from the broker's side."""

import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from dspex_gql.pubsub import Hub
from tests.support.fake_broker import FakeBroker
from tests.support.pubsub import Progress, backend_url, eventually, take


@pytest.fixture
async def redis_admin() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(backend_url("redis"))
    yield client
    await client.aclose()


async def redis_subscribers(admin: redis.Redis, channel: str) -> int:
    [(_, count)] = await admin.pubsub_numsub(channel)
    return int(count)


async def test_redis_sees_one_subscriber_per_hub_however_many_local_ones(
    redis_admin: redis.Redis, channel: str
) -> None:
    async def redis_counts(expected: int) -> bool:
        return await redis_subscribers(redis_admin, channel) == expected

    async with Hub(backend_url("redis")) as hub, contextlib.AsyncExitStack() as stack:
        for _ in range(5):
            await stack.enter_async_context(hub.subscribe(channel, Progress))
        await eventually(lambda: redis_counts(1))
        await stack.aclose()
        await eventually(lambda: redis_counts(0))


async def test_the_broker_sees_one_subscription_per_channel(channel: str) -> None:
    broker = FakeBroker()
    async with Hub("memory://", broadcast_factory=broker.connect) as hub:
        async with (
            hub.subscribe(channel, Progress) as first,
            hub.subscribe(channel, Progress) as second,
        ):
            assert broker.subscriptions(channel) == 1
            await hub.publish(channel, Progress(sequence=1, run="a"))
            assert await take(first, 1) == await take(second, 1) == [Progress(sequence=1, run="a")]
        assert broker.subscriptions(channel) == 0

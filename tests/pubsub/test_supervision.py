"""The hub never leaves a subscriber hanging when its backend fails, and comes back."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as redis

from dspex_gql.pubsub import Hub, HubUnavailable
from tests.support.fake_broker import FakeBroker
from tests.support.pubsub import Progress, backend_url, eventually, take, until_ready

FIRST = Progress(sequence=1, run="a")
AGAIN = Progress(sequence=2, run="a")


async def assert_ended_with_hub_unavailable(events: AsyncIterator[Progress]) -> None:
    with pytest.raises(HubUnavailable):
        await take(events, 1)


async def assert_delivery_works(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel, Progress) as events:
        await hub.publish(channel, AGAIN)
        assert await take(events, 1) == [AGAIN]


async def redis_pubsub_connections(client_name: str) -> list[str]:
    admin = redis.Redis.from_url(backend_url("redis"))
    try:
        connections = await admin.client_list(_type="pubsub")
        return [c["id"] for c in connections if c["name"] == client_name]
    finally:
        await admin.aclose()


async def kill_redis_connections(ids: list[str]) -> None:
    """`CLIENT KILL` connections by id, as a failing network or a Redis failover would."""
    admin = redis.Redis.from_url(backend_url("redis"))
    try:
        for id in ids:
            await admin.client_kill_filter(_id=id)
    finally:
        await admin.aclose()


async def test_killing_the_redis_connection_ends_subscribers_then_recovers(channel: str) -> None:
    name = f"dspex-test-{uuid.uuid4().hex[:8]}"
    url = f"{backend_url('redis')}?client_name={name}"
    async with Hub(url, heartbeat_interval=0.1) as hub:
        async with hub.subscribe(channel, Progress) as events:
            await hub.publish(channel, FIRST)
            assert await take(events, 1) == [FIRST]
            [killed] = await redis_pubsub_connections(name)
            await kill_redis_connections([killed])
            await assert_ended_with_hub_unavailable(events)
        await until_ready(hub)
        await assert_delivery_works(hub, channel)

        async def only_a_new_connection_is_left() -> bool:
            # redis-py had quietly reopened the killed connection; the hub must close it.
            connections = await redis_pubsub_connections(name)
            return len(connections) == 1 and killed not in connections

        await eventually(only_a_new_connection_is_left)


async def test_terminating_the_postgres_connection_ends_subscribers_then_recovers(
    channel: str,
) -> None:
    name = f"dspex-test-{uuid.uuid4().hex[:8]}"
    url = f"{backend_url('postgres')}?application_name={name}"
    async with Hub(url, heartbeat_interval=0.1) as hub:
        async with hub.subscribe(channel, Progress) as events:
            await hub.publish(channel, FIRST)
            assert await take(events, 1) == [FIRST]
            admin = await asyncpg.connect(backend_url("postgres"))
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                name,
            )
            await admin.close()
            assert killed == 1
            await assert_ended_with_hub_unavailable(events)
        await until_ready(hub)
        await assert_delivery_works(hub, channel)


async def test_a_broker_that_stops_delivering_ends_subscribers(channel: str) -> None:
    broker = FakeBroker()
    async with Hub("memory://", broadcast_factory=broker.connect, heartbeat_interval=0.05) as hub:
        async with hub.subscribe(channel, Progress) as events:
            broker.go_deaf()
            await assert_ended_with_hub_unavailable(events)
        await until_ready(hub)
        await assert_delivery_works(hub, channel)


async def test_a_broker_outage_ends_subscribers_and_then_fails_publishing(channel: str) -> None:
    """Publishing never waits for the broker: what it could not take is dropped and counted;
    once the hub knows the broker is gone, publishing fails at once."""
    broker = FakeBroker()
    async with Hub("memory://", broadcast_factory=broker.connect, heartbeat_interval=0.05) as hub:
        async with hub.subscribe(channel, Progress) as events:
            broker.stop()
            await hub.publish(channel, FIRST)
            await assert_ended_with_hub_unavailable(events)
        with pytest.raises(HubUnavailable):
            await hub.publish(channel, AGAIN)
        assert hub.undelivered >= 1
        assert not await hub.ping(timeout=0.2)
        broker.start()
        await until_ready(hub)
        await assert_delivery_works(hub, channel)


async def test_a_refused_subscription_fails_only_its_own_subscriber(channel: str) -> None:
    broker = FakeBroker()
    broker.refused_channels.add(f"{channel}.refused")
    async with (
        Hub("memory://", broadcast_factory=broker.connect, heartbeat_interval=0.05) as hub,
        hub.subscribe(channel, Progress) as events,
    ):
        with pytest.raises(HubUnavailable):
            async with hub.subscribe(f"{channel}.refused", Progress):
                pass
        assert await hub.ping(timeout=1.0)
        await hub.publish(channel, FIRST)
        assert await take(events, 1) == [FIRST]

"""Buckets in Redis, as two replicas see them: one budget for both, refilled by Redis's clock,
kept apart by limiter name, expiring when idle; a Redis that does not answer lets requests
through, with one warning per outage."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from dspex_gql.ratelimit import RedisBuckets
from dspex_gql.ratelimit.shared import bucket_key
from tests.support.external_services import REDIS, service_url
from tests.support.faults import TcpProxy
from tests.support.processes import free_port

TIMEOUT = 0.3
SLOW = 0.001
"""A refill rate no test outlives: a refused take stays refused."""


@pytest.fixture
def redis_url() -> str:
    return service_url(REDIS, "Redis")


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[RedisBuckets, RedisBuckets]]:
    """Two processes' buckets on one Redis: two clients, as two replicas have."""
    async with (
        RedisBuckets(redis_url, TIMEOUT) as first,
        RedisBuckets(redis_url, TIMEOUT) as second,
    ):
        yield first, second


def fresh_key() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    """Between the buckets and Redis, to cut or silence."""
    target = urlsplit(redis_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as started:
        yield started


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The rate limits' log lines: (level, message)."""
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name.startswith("dspex_gql.ratelimit")
    ]


class TestTwoReplicas:
    async def test_share_one_budget(self, replicas: tuple[RedisBuckets, RedisBuckets]) -> None:
        first, second = (buckets.limiter("requests", 3, SLOW) for buckets in replicas)
        key = fresh_key()

        allowed = [await limiter.take(key) for limiter in (first, second, first)]
        refused = [await second.take(key), await first.take(key)]

        assert allowed == [0.0, 0.0, 0.0]
        assert all(0 < wait <= 1 / SLOW for wait in refused), refused

    async def test_a_token_comes_back_when_the_refusal_said(
        self, replicas: tuple[RedisBuckets, RedisBuckets]
    ) -> None:
        per_second = 20.0
        first, second = (buckets.limiter("requests", 2, per_second) for buckets in replicas)
        key = fresh_key()
        assert [await first.take(key), await second.take(key)] == [0.0, 0.0]

        wait = await first.take(key)
        assert 0 < wait <= 1 / per_second
        await asyncio.sleep(wait)  # the time the refusal gave, by Redis's clock

        assert await second.take(key) == 0.0
        assert await first.take(key) > 0, "one token came back, not two"

    async def test_limiters_of_other_names_have_other_buckets(
        self, replicas: tuple[RedisBuckets, RedisBuckets]
    ) -> None:
        first, second = replicas
        requests, sign_ins = first.limiter("requests", 1, SLOW), second.limiter("sign-in", 1, SLOW)
        key = fresh_key()

        assert await requests.take(key) == 0.0
        assert await requests.take(key) > 0

        assert await sign_ins.take(key) == 0.0
        assert await second.limiter("requests", 1, SLOW).take(key) > 0

    async def test_idle_buckets_expire_after_twice_a_full_refill(
        self, replicas: tuple[RedisBuckets, RedisBuckets], redis_url: str
    ) -> None:
        capacity, per_second = 10, 5.0  # full again after 2 s: gone after 4 s
        key = fresh_key()

        await replicas[0].limiter("requests", capacity, per_second).take(key)

        async with Redis.from_url(redis_url) as redis:
            ttl_ms = await redis.pttl(bucket_key("requests", key))
        assert 0 < ttl_ms <= 4000


class TestTakesAskedTogether:
    async def test_go_to_redis_as_one_call_and_are_taken_in_turn(
        self, replicas: tuple[RedisBuckets, RedisBuckets], redis_url: str
    ) -> None:
        """Requests that arrive together wait for one round trip, not one each."""
        first, second = replicas
        requests, sign_ins = first.limiter("requests", 3, SLOW), first.limiter("sign-in", 1, SLOW)
        key, other = fresh_key(), fresh_key()
        await second.limiter("requests", 3, SLOW).take(key)  # the script is loaded; 2 tokens left

        async with Redis.from_url(redis_url) as redis:
            calls_before = await evalsha_calls(redis)
            waits = await asyncio.gather(
                *(requests.take(key) for _ in range(4)), sign_ins.take(other), sign_ins.take(other)
            )
            calls = await evalsha_calls(redis) - calls_before

        assert calls == 1
        assert waits[:2] == [0.0, 0.0], "the two tokens left, to the first two asked"
        assert all(wait > 0 for wait in waits[2:4]), waits
        assert waits[4:] == [0.0, waits[5]], "another limiter's bucket, in the same call"
        assert waits[5] > 0


async def evalsha_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


class TestARedisThatDoesNotAnswer:
    async def test_refusing_connections_counts_in_this_process_and_warns_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        closed = f"redis://127.0.0.1:{free_port()}/0"
        async with RedisBuckets(closed, TIMEOUT, retry_seconds=0) as buckets:
            limiter = buckets.limiter("requests", 1, SLOW)

            waits = [await limiter.take(fresh_key()) for _ in range(3)]
            waits += [await limiter.take("the same key") for _ in range(3)]

        assert waits[:4] == [0.0] * 4, "each key's first take: the local bucket is full"
        assert all(wait > 0 for wait in waits[4:]), "a key out of tokens is refused even so"
        [(level, warning)] = logged(caplog)
        assert level == logging.WARNING
        assert "rate limits are counted per process" in warning
        assert closed.removeprefix("redis://").removesuffix("/0") in warning

    async def test_a_silent_one_holds_a_take_no_longer_than_the_timeout(
        self, redis_url: str, proxy: TcpProxy
    ) -> None:
        """The first take waits for the timeout; the next ones, within a second, not at all."""
        async with RedisBuckets(proxy.url_for(redis_url), TIMEOUT) as buckets:
            limiter = buckets.limiter("requests", 1, SLOW)
            key = fresh_key()
            assert await limiter.take(key) == 0.0
            proxy.silence()

            async with asyncio.timeout(TIMEOUT * 2):
                waits = [await limiter.take(key) for _ in range(3)]
            proxy.restore()

        assert waits[0] == 0.0
        assert all(wait > 0 for wait in waits[1:])

    async def test_each_outage_is_one_warning_and_limits_come_back_after_it(
        self, redis_url: str, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, "dspex_gql.ratelimit")
        async with RedisBuckets(proxy.url_for(redis_url), TIMEOUT, retry_seconds=0) as buckets:
            limiter = buckets.limiter("requests", 1, SLOW)
            key = fresh_key()
            for _ in range(2):
                proxy.cut()
                during = [await limiter.take(key) for _ in range(3)]
                proxy.restore()
                after = [await limiter.take(key) for _ in range(2)]
                assert during[-1] > 0, "limited meanwhile too, by this process's bucket"
                assert after[1] > 0, "limited again once Redis answers"

        lines = [(level, message.split(":")[0]) for level, message in logged(caplog)]
        assert (
            lines
            == [
                (logging.WARNING, "rate limits are counted per process"),
                (logging.INFO, "rate limits are shared again"),
            ]
            * 2
        )

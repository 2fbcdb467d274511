"""Token buckets in Redis, shared by every replica: one atomic step per take (a Lua script run
by EVALSHA), timed by Redis's clock so the replicas' clocks do not matter.

    async with RedisBuckets("redis://127.0.0.1:6379/0", timeout=0.5) as buckets:
        limiter = buckets.limiter("requests", capacity=60, per_second=20)
        await limiter.take("user-1")     # bucket dspex:rate:requests:<digest of user-1>

A bucket left alone refills completely after capacity/per_second seconds, and is then the same
as no bucket: its key expires twice that long after its last take.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dspex_gql.ratelimit.local import RateLimiter
from dspex_gql.ratelimit.outage import Outage

KEY_PREFIX = "dspex:rate"
RETRY_SECONDS = 1.0
"""During an outage, how often a take asks Redis again (the others are allowed at once)."""

TAKE = """
local capacity, per_second, ttl_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(stored[1]), tonumber(stored[2])
if tokens == nil or updated == nil then
  tokens, updated = capacity, now
end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * per_second)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / per_second
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'updated', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return string.format('%.17g', wait)
"""


class RedisBuckets:
    """The client of one Redis (connected on first use, closed on exit) and its limiters.
    `timeout`: the longest a take waits for Redis before it allows the request anyway;
    `retry_seconds`: during an outage, how often a take asks Redis again."""

    def __init__(self, url: str, timeout: float, retry_seconds: float = RETRY_SECONDS) -> None:
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failed take is allowed; no request waits for retries
        )
        self._take = self._client.register_script(TAKE)
        self._timeout = timeout
        self._outage = Outage(where(url), retry_seconds)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    def limiter(self, name: str, capacity: int, per_second: float) -> RedisRateLimiter:
        return RedisRateLimiter(self, name, capacity, per_second)

    async def take(self, key: str, capacity: int, per_second: float) -> float | None:
        """One step of bucket `key`: 0.0 when allowed, else the seconds until a token; None
        when Redis does not answer."""
        if self._outage.skip():
            return None
        ttl_ms = max(1, math.ceil(capacity / per_second * 2 * 1000))
        try:
            async with asyncio.timeout(self._timeout):
                wait = await self._take(keys=[key], args=[capacity, repr(per_second), ttl_ms])
        except (RedisError, OSError, TimeoutError) as error:
            self._outage.failed(error)
            return None
        self._outage.answered()
        return float(wait)


class RedisRateLimiter:
    """A limiter whose buckets are in Redis; while Redis does not answer, in this process (each
    replica then allows the whole budget, as without Redis: never no limit at all)."""

    def __init__(self, buckets: RedisBuckets, name: str, capacity: int, per_second: float) -> None:
        self._buckets = buckets
        self._name = name
        self._capacity = capacity
        self._per_second = per_second
        self._meanwhile = RateLimiter(capacity, per_second)

    async def take(self, key: str) -> float:
        shared = bucket_key(self._name, key)
        wait = await self._buckets.take(shared, self._capacity, self._per_second)
        return await self._meanwhile.take(key) if wait is None else wait


def bucket_key(name: str, key: str) -> str:
    """The Redis key of a bucket: `dspex:rate:<name>:<digest of key>` (keys name people:
    e-mail addresses, client addresses; Redis need not see them)."""
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{KEY_PREFIX}:{name}:{digest}"


def where(url: str) -> str:
    """`url` without its credentials, for logs: `redis://:secret@cache:6380/1` is `cache:6380`."""
    parts = urlsplit(url)
    if parts.hostname is None:  # unix:///run/redis.sock
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}"

"""Token buckets in Redis, shared by every replica: one atomic step per take (a Lua script run
by EVALSHA), timed by Redis's clock so the replicas' clocks do not matter. The takes asked for
while the event loop runs the same batch of callbacks (concurrent requests, sockets opening
together) go to Redis as one script call, steps taken in the order asked.

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
from dataclasses import dataclass
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
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local waits = {}
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 3
  local capacity, per_second = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local stored = redis.call('HMGET', key, 'tokens', 'updated')
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
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens),
    'updated', string.format('%.6f', now))
  redis.call('PEXPIRE', key, ARGV[at + 3])
  waits[i] = string.format('%.17g', wait)
end
return waits
"""
"""One step of each bucket in KEYS, ARGV holding (capacity, per second, expiry in ms) for each:
the seconds to wait of each (0 when allowed)."""


@dataclass(frozen=True)
class Take:
    key: str
    arguments: tuple[int, str, int]
    """capacity, per second (as `repr` writes it: exact), expiry in ms"""
    answer: asyncio.Future[float | None]


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
        self._asked: list[Take] = []
        """Takes asked for since the last batch went to Redis."""
        self._sending: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._sending:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        await self._client.aclose()

    def limiter(self, name: str, capacity: int, per_second: float) -> RedisRateLimiter:
        return RedisRateLimiter(self, name, capacity, per_second)

    async def take(self, key: str, capacity: int, per_second: float) -> float | None:
        """One step of bucket `key`: 0.0 when allowed, else the seconds until a token; None
        when Redis does not answer."""
        if self._outage.skip():
            return None
        ttl_ms = max(1, math.ceil(capacity / per_second * 2 * 1000))
        answer: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        if not self._asked:  # the batch goes once the callbacks ready now have run
            task = asyncio.create_task(self._send_asked())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        self._asked.append(Take(key, (capacity, repr(per_second), ttl_ms), answer))
        return await answer

    async def _send_asked(self) -> None:
        takes, self._asked = self._asked, []
        waits: list[float | None] = [None] * len(takes)
        try:
            async with asyncio.timeout(self._timeout):
                answered = await self._take(
                    keys=[take.key for take in takes],
                    args=[value for take in takes for value in take.arguments],
                )
        except (RedisError, OSError, TimeoutError) as error:
            self._outage.failed(error)
        else:
            self._outage.answered()
            waits = [float(wait) for wait in answered]
        finally:
            for take, wait in zip(takes, waits, strict=True):
                if not take.answer.done():
                    take.answer.set_result(wait)


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

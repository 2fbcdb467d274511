"""Rate limits: token buckets in this process, or in Redis shared by every replica.

async with open_buckets(settings.limits, settings.broadcast) as buckets:
    limiter = buckets.limiter("requests", capacity=60, per_second=20)
    retry_after = await limiter.take(str(actor.user_id))  # 0.0 when allowed, else seconds to wait
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dspex_gql.config import BroadcastSettings, LimitsSettings
from dspex_gql.ratelimit.base import Buckets, Limiter, RateLimited
from dspex_gql.ratelimit.local import LocalBuckets, RateLimiter
from dspex_gql.ratelimit.shared import RedisBuckets


@asynccontextmanager
async def open_buckets(
    limits: LimitsSettings, broadcast: BroadcastSettings
) -> AsyncIterator[Buckets]:
    """In Redis when the replicas share one (`LimitsSettings.shared_store`), else in memory."""
    url = limits.shared_store(broadcast)
    if url is None:
        yield LocalBuckets()
        return
    async with RedisBuckets(url, limits.redis_timeout_seconds) as buckets:
        yield buckets


__all__ = [
    "Buckets",
    "Limiter",
    "LocalBuckets",
    "RateLimited",
    "RateLimiter",
    "RedisBuckets",
    "open_buckets",
]

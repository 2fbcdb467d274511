"""Rate limits: token buckets in this process, or in Redis shared by every replica.

limiter = buckets.limiter("requests", capacity=60, per_second=20)
retry_after = await limiter.take(str(actor.user_id))   # 0.0 when allowed, else seconds to wait
"""

from __future__ import annotations

from dspex_gql.ratelimit.base import Buckets, Limiter, RateLimited
from dspex_gql.ratelimit.local import LocalBuckets, RateLimiter

__all__ = ["Buckets", "Limiter", "LocalBuckets", "RateLimited", "RateLimiter"]

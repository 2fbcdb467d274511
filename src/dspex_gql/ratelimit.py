"""Token buckets: `capacity` requests at once, refilled at `per_second`.

limiter = RateLimiter(capacity=60, per_second=20)
retry_after = limiter.take(actor.user_id)   # 0.0 when allowed, else seconds to wait
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from dspex_gql.errors import DomainError


class RateLimited(DomainError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        capacity: int,
        per_second: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._per_second = per_second
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def take(self, key: Hashable) -> float:
        """Spend one token of `key`'s bucket: 0.0 if there was one, else the seconds until one."""
        now = self._clock()
        bucket = self._bucket(key, now)
        bucket.tokens = min(
            self._capacity, bucket.tokens + (now - bucket.updated) * self._per_second
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._per_second

    def _bucket(self, key: Hashable, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._capacity, updated=now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket

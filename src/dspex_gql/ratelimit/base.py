"""What every limiter is, wherever its buckets live.

limiter = buckets.limiter("requests", capacity=60, per_second=20)
retry_after = await limiter.take(str(actor.user_id))   # 0.0 when allowed, else seconds to wait
"""

from __future__ import annotations

from typing import Protocol

from dspex_gql.errors import DomainError


class RateLimited(DomainError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Limiter(Protocol):
    """Token buckets, one per key: `capacity` takes at once, refilled at `per_second`."""

    async def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket: 0.0 if there was one, else the seconds until one."""
        ...


class Buckets(Protocol):
    """Where limiters keep their buckets: this process, or a store every replica shares."""

    def limiter(self, name: str, capacity: int, per_second: float) -> Limiter:
        """A limiter whose buckets are its own: `name` (e.g. `requests`) keeps them apart from
        other limiters' buckets of the same key."""
        ...

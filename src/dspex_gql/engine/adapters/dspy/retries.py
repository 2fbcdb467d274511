"""Transient LM failures are retried with exponential backoff and jitter; others fail at once."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from dspex_gql.engine.adapters.dspy.configuration import DEFAULT_TIMEOUT_SECONDS

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Retry `n` (0-based) waits a random time in [ceiling/2, ceiling], where ceiling is
    `min(max_seconds, base_seconds * 2**n)`, or what the provider's `retry_after` asks for
    when that is longer (up to `max_seconds`)."""

    base_seconds: float = 0.5
    max_seconds: float = 10.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2**retry)
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            return max(delay, min(retry_after, self.max_seconds))
        return delay


@dataclass(frozen=True)
class CallPolicy:
    """How each LM call of a run is made: retries of transient failures and a deadline per try."""

    max_retries: int = 0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    backoff: Backoff = field(default_factory=Backoff)


def retry_delay(error: Exception, policy: CallPolicy, retry: int) -> float:
    retry_after = getattr(error, "retry_after", None)
    hint = float(retry_after) if isinstance(retry_after, int | float) else None
    return policy.backoff.delay(retry, hint)


def with_retries_in_thread(
    attempt: Callable[[int], T],
    policy: CallPolicy,
    is_transient: Callable[[Exception], bool],
) -> T:
    """`with_retries` for a call made by a worker thread: the waits block that thread only."""
    for retry in range(policy.max_retries + 1):
        try:
            return attempt(retry + 1)
        except Exception as error:
            if retry == policy.max_retries or not is_transient(error):
                raise
            time.sleep(retry_delay(error, policy, retry))
    raise AssertionError("unreachable: the last attempt returns or raises")


async def with_retries(
    attempt: Callable[[int], Awaitable[T]],
    policy: CallPolicy,
    is_transient: Callable[[Exception], bool],
) -> T:
    """`await attempt(1)`, then `attempt(2)`… while it fails transiently and retries remain."""
    for retry in range(policy.max_retries + 1):
        try:
            return await attempt(retry + 1)
        except Exception as error:
            if retry == policy.max_retries or not is_transient(error):
                raise
            await asyncio.sleep(retry_delay(error, policy, retry))
    raise AssertionError("unreachable: the last attempt returns or raises")

"""One limiter per language model (by its id), shared by every run in the process: at most
`max_concurrency` calls in flight and, when set, `requests_per_minute` (a token bucket)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from dspex_gql.engine.language_models import LanguageModelSpec

BURST_SECONDS = 10
"""A full bucket holds ten seconds' worth of requests (at least one)."""


class TokenBucket:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self._tokens = self.capacity
        self._updated = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


class ModelLimiter:
    """`async with limiter:` around one LM call on the event loop; `with limiter.in_thread():`
    around one made by a worker thread (DSPy's optimizers), which gets its own `max_concurrency`
    allowance (an asyncio semaphore cannot be shared with threads)."""

    def __init__(self, max_concurrency: int, requests_per_minute: int | None = None) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.requests_per_minute = requests_per_minute
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._bucket = TokenBucket(requests_per_minute) if requests_per_minute else None
        self._thread_slots = threading.BoundedSemaphore(self.max_concurrency)

    @contextmanager
    def in_thread(self) -> Iterator[None]:
        with self._thread_slots:
            yield

    @property
    def limits(self) -> tuple[int, int | None]:
        return self.max_concurrency, self.requests_per_minute

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        try:
            if self._bucket is not None:
                await self._bucket.take()
        except BaseException:
            self._slots.release()
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._slots.release()


_limiters: dict[str, ModelLimiter] = {}
_lock = threading.Lock()


def limiter_for(spec: LanguageModelSpec) -> ModelLimiter:
    """The model's limiter; a new one when its limits changed (calls in flight keep the old)."""
    limits = (max(1, spec.max_concurrency), spec.requests_per_minute or None)
    with _lock:
        limiter = _limiters.get(spec.id)
        if limiter is None or limiter.limits != limits:
            limiter = _limiters[spec.id] = ModelLimiter(*limits)
        return limiter

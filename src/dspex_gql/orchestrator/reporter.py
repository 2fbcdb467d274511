"""Write-behind progress, so the database stays off the execution hot path.

`report(progress)` stages a non-terminal state; the latest per key wins, and staged states are
written together at most every `interval` seconds. `finish(progress)` writes a terminal state
now. Either way the event is published only after its write commits, so the store is never behind
an event anyone could have seen: a subscriber that reads the store after subscribing misses
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    key: Hashable
    write: Callable[[AsyncSession], Awaitable[bool]]
    """Applies the state; returns False when the row had already moved on (nothing to announce)."""
    announce: Callable[[], Awaitable[None]]


class ProgressReporter:
    def __init__(self, uow: UnitOfWorkFactory, interval: float) -> None:
        self._uow = uow
        self._interval = interval
        self._staged: dict[Hashable, Progress] = {}
        self._dirty = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProgressReporter:
        self._flusher = asyncio.create_task(self._flush_periodically(), name="progress-flusher")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    def report(self, progress: Progress) -> None:
        self._staged[progress.key] = progress
        self._dirty.set()

    async def finish(self, progress: Progress) -> bool:
        self._staged.pop(progress.key, None)
        async with self._uow() as tx:
            written = await progress.write(tx.session)
        if written:
            await _announce(progress)
        return written

    async def flush(self) -> None:
        staged, self._staged = self._staged, {}
        if not staged:
            return
        try:
            async with self._uow() as tx:
                written = [p for p in staged.values() if await p.write(tx.session)]
        except Exception:
            logger.exception("write-behind flush of %d states failed", len(staged))
            return
        for progress in written:
            await _announce(progress)

    async def _flush_periodically(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._interval)  # the coalescing window, not a synchronisation
            self._dirty.clear()
            await self.flush()


async def _announce(progress: Progress) -> None:
    try:
        await progress.announce()
    except Exception:
        logger.warning("could not publish progress of %s", progress.key, exc_info=True)

"""Write-behind progress, so the database stays off the execution hot path.

`report(progress)` stages a non-terminal state; the latest per key wins, and staged states are
written together at most every `interval` seconds: `interval` after the first change since the
last write began (a write that took longer than that is followed at once by the next).
`finish(progress)` writes a terminal state now. Either way the event is published only after its
write commits, so the store is never behind an event anyone could have seen: a subscriber that
reads the store after subscribing misses nothing.

While the database is unavailable, staged states wait for the next write and a terminal state is
retried with backoff: for `patience` seconds while its job waits, then in the background until it
is written. A process that dies meanwhile leaves its runs to be reclaimed (`reclaim.py`). A state
the database refuses (a bug, not an outage) is logged and not announced, and the other states of
its flush are written each in a transaction of its own: one run cannot hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.errors import database_unavailable
from dspex_gql.db.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.05
MAX_RETRY_DELAY = 5.0


class StateWriter(Protocol):
    """A job whose states the reporter writes (`runs.RunJob`)."""

    @property
    def key(self) -> Hashable: ...

    async def store(self, session: AsyncSession, change: Any) -> Any | None:
        """Write `change`; what to announce, or None when the row moved on without this job (a
        later or final state, another process took the run over, or it is gone)."""
        ...

    def stored(self, change: Any) -> None:
        """Told once the write committed, before the announcement."""

    async def announce(self, stored: Any) -> None: ...

    def stop_quietly(self) -> None:
        """Told when a progress write found the row moved on."""


@dataclass(frozen=True)
class Pending:
    key: Hashable
    writer: StateWriter
    change: Any


class ProgressReporter:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        interval: float,
        patience: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._interval = interval
        self._patience = patience
        self._clock = clock
        self._staged: dict[Hashable, Pending] = {}
        self._dirty = asyncio.Event()
        self._dirty_since = 0.0
        """When the first change since the last write began was staged (`clock`)."""
        self._hurried = asyncio.Event()
        self._flushing: frozenset[Hashable] = frozenset()
        self._flushed = asyncio.Event()
        self._finishing: set[Hashable] = set()
        """Jobs whose final state waits for a flush: that flush leaves their staged state to it."""
        self._unwritten: dict[Hashable, Pending] = {}
        self._has_unwritten = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> ProgressReporter:
        self._tasks = [
            asyncio.create_task(self._flush_periodically(), name="progress-flusher"),
            asyncio.create_task(self._retry_unwritten(), name="final-state-retrier"),
        ]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        await self._write_unwritten()
        if self._unwritten:
            logger.warning(
                "%d final states could not be written; the next process reclaims their runs",
                len(self._unwritten),
            )

    def report(self, writer: StateWriter, change: Any) -> None:
        """Stage a state: the latest of each job is written with the next flush."""
        self._staged[writer.key] = Pending(writer.key, writer, change)
        if not self._dirty.is_set():
            self._dirty_since = self._clock()
            self._dirty.set()

    def report_now(self, writer: StateWriter, change: Any) -> None:
        """Stage a state and write it (with whatever else is staged) without waiting for the
        end of the window, and without holding up the caller: a run's status change."""
        self.report(writer, change)
        self._hurried.set()

    @property
    def unwritten(self) -> int:
        """Final states waiting for the database."""
        return len(self._unwritten)

    async def finish(self, writer: StateWriter, change: Any) -> bool:
        """Write a final state; False if the row had moved on, or if it is still unwritten after
        `patience` seconds (it is then retried in the background)."""
        progress = Pending(writer.key, writer, change)
        self._staged.pop(progress.key, None)
        self._finishing.add(progress.key)
        try:
            while progress.key in self._flushing:  # one write of a run at a time
                await self._flushed.wait()
                self._staged.pop(progress.key, None)
        finally:
            self._finishing.discard(progress.key)
        deadline = time.monotonic() + self._patience
        for attempt, delay in enumerate(_backoff()):
            try:
                return await self._write_one(progress)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                if attempt == 0:
                    logger.warning(
                        "the final state of %s could not be written, retrying: %r",
                        progress.key,
                        error,
                    )
                if time.monotonic() + delay > deadline:
                    logger.warning(
                        "could not write the final state of %s yet: %s", progress.key, error
                    )
                    self._unwritten[progress.key] = progress
                    self._has_unwritten.set()
                    return False
            await asyncio.sleep(delay)  # backing off from an unavailable database
        raise AssertionError("backoff delays never run out")

    async def flush(self) -> bool:
        """Write the staged states together; False if the database was unavailable (they stay
        staged, unless a newer state of the same run came meanwhile)."""
        staged, self._staged = self._staged, {}
        if not staged:
            return True
        self._flushing, self._flushed = frozenset(staged), asyncio.Event()
        try:
            written = await self._write_together(staged)
        finally:
            self._done_flushing()
        if written is None:
            return False
        for key, stored in written.items():
            if stored is not None:
                await _announce(staged[key].writer, stored)
        return True

    async def _write_together(self, staged: dict[Hashable, Pending]) -> dict[Hashable, Any] | None:
        """What each write stored (None: nothing); None if the database was unavailable. A job
        whose final state came meanwhile is left out: its final write takes what it staged."""
        try:
            async with self._uow() as tx:
                written = {
                    key: await p.writer.store(tx.session, p.change)
                    for key, p in staged.items()
                    if key not in self._finishing
                }
        except Exception as error:
            if database_unavailable(error):
                for key, progress in staged.items():
                    self._staged.setdefault(key, progress)
                return None
            if len(staged) > 1:  # one run's state the database refuses holds up no other's
                return await self._write_each(staged)
            logger.exception("the database refused the progress of %s", *staged)
            return dict.fromkeys(staged)
        for key, stored in written.items():
            if stored is None:
                staged[key].writer.stop_quietly()
            else:
                staged[key].writer.stored(staged[key].change)
        return written

    async def _write_each(self, staged: dict[Hashable, Pending]) -> dict[Hashable, Any]:
        """Each state in a transaction of its own; None for one not written."""
        written: dict[Hashable, Any] = {}
        for key, progress in staged.items():
            written |= await self._write_together({key: progress}) or {key: None}
        return written

    def _done_flushing(self) -> None:
        self._flushing = frozenset()
        self._flushed.set()

    async def _write_one(self, progress: Pending) -> bool:
        async with self._uow() as tx:
            stored = await progress.writer.store(tx.session, progress.change)
        if stored is None:
            return False
        progress.writer.stored(progress.change)
        await _announce(progress.writer, stored)
        return True

    async def _flush_periodically(self) -> None:
        delays = _backoff()
        while True:
            await self._dirty.wait()
            window = self._dirty_since + self._interval - self._clock()
            if window > 0:
                with contextlib.suppress(TimeoutError):  # the coalescing window, unless hurried
                    await asyncio.wait_for(self._hurried.wait(), window)
            self._dirty.clear()
            self._hurried.clear()
            if await self.flush():
                delays = _backoff()
                continue
            delay = next(delays)
            logger.warning("progress could not be written; retrying in %.2f s", delay)
            await asyncio.sleep(delay)  # backing off from an unavailable database
            self._dirty.set()

    async def _retry_unwritten(self) -> None:
        while True:
            await self._has_unwritten.wait()
            for delay in _backoff():
                await asyncio.sleep(delay)  # backing off from an unavailable database
                if await self._write_unwritten():
                    break
            self._has_unwritten.clear()

    async def _write_unwritten(self) -> bool:
        """One attempt at every unwritten final state; True when none is left."""
        for key, progress in list(self._unwritten.items()):
            try:
                await self._write_one(progress)
            except Exception as error:
                if database_unavailable(error):
                    return False
                logger.exception("the final state of %s cannot be written", key)
            del self._unwritten[key]
        return True


def _backoff() -> Iterator[float]:
    """0.05, 0.1, 0.2, … seconds, capped at MAX_RETRY_DELAY."""
    delay = FIRST_RETRY_DELAY
    while True:
        yield delay
        delay = min(delay * 2, MAX_RETRY_DELAY)


async def _announce(writer: StateWriter, stored: Any) -> None:
    try:
        await writer.announce(stored)
    except Exception:
        logger.warning("could not publish progress of %s", writer.key, exc_info=True)

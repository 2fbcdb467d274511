"""The orchestrator: a plain class that owns every task it starts.

    async with Orchestrator(max_concurrency=32, shutdown_grace=5.0) as orchestrator:
        orchestrator.submit(job)             # returns at once; the job waits for a free slot
        await orchestrator.wait(job.key, 2.0)
        await orchestrator.cancel(job.key, "Cancelled by user")

A job with a `lane` attribute naming one of `lanes` waits for a slot of that lane instead: long
jobs (optimization loops) get their own bound and never take the slots short ones wait for.

A job records its own outcome, including cancellation: `run()` sees `CancelledError` carrying the
reason (see `cancel_reason`), and `abandon(reason)` is called for a job cancelled before it started.
On exit, running jobs get `shutdown_grace` seconds to finish, then are cancelled and awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

logger = logging.getLogger(__name__)

SHUTDOWN_REASON = "Interrupted: the service shut down before this run finished"
SUPERSEDED = "Superseded: the run moved on without this job"
"""The reason a job stops itself when its run was cancelled elsewhere or taken over; such a job
writes nothing more."""


class Job(Protocol):
    @property
    def key(self) -> Hashable: ...

    async def run(self) -> None: ...

    async def abandon(self, reason: str) -> None: ...


SHARED_LANE = "shared"
"""The name the shared slots go by in `Orchestrator.lanes` (jobs without a lane of their own)."""


@dataclass
class Lane:
    """Slots for jobs, and how many wait for one and how many hold one."""

    slots: asyncio.Semaphore
    waiting: int = field(default=0, init=False)
    running: int = field(default=0, init=False)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self.slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self.slots.release()


def cancel_reason(error: asyncio.CancelledError, default: str = "Cancelled") -> str:
    return str(error.args[0]) if error.args else default


class Orchestrator:
    def __init__(
        self,
        *,
        max_concurrency: int,
        shutdown_grace: float = 0.0,
        lanes: Mapping[str, int] | None = None,
    ) -> None:
        self._shared = Lane(asyncio.Semaphore(max_concurrency))
        self._lanes = {name: Lane(asyncio.Semaphore(size)) for name, size in (lanes or {}).items()}
        self._shutdown_grace = shutdown_grace
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._cancelling: set[Hashable] = set()
        self._accepting = True

    async def __aenter__(self) -> Orchestrator:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def lanes(self) -> Mapping[str, Lane]:
        """Every lane by name, the shared slots as `SHARED_LANE`."""
        return {SHARED_LANE: self._shared, **self._lanes}

    def submit(self, job: Job) -> None:
        """Start the job; once stopping, a job submitted late is recorded as abandoned instead."""
        run = self._drive(job) if self._accepting else job.abandon(SHUTDOWN_REASON)
        task = asyncio.create_task(run, name=f"job:{job.key}")
        self._tasks[job.key] = task
        task.add_done_callback(lambda done: self._forget(job.key, done))

    async def wait(self, key: Hashable, seconds: float) -> bool:
        """Wait until the job is done or `seconds` pass; True when it is done."""
        task = self._tasks.get(key)
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=seconds)
        return bool(done)

    def cancelling(self, key: Hashable) -> bool:
        return key in self._cancelling

    def runs(self, key: Hashable) -> bool:
        """Whether this process runs the job."""
        return key in self._tasks

    async def cancel(self, key: Hashable, reason: str) -> bool:
        """Cancel a job this process runs and wait until it has recorded that; False if not ours.

        A job is cancelled once: a second cancel only waits (cancelling again would interrupt the
        job while it records the first)."""
        task = self._tasks.get(key)
        if task is None:
            return False
        if key not in self._cancelling:
            self._cancelling.add(key)
            task.cancel(reason)
        await asyncio.wait({task})
        return True

    async def stop(self) -> None:
        self._accepting = False
        tasks = set(self._tasks.values())
        if tasks and self._shutdown_grace > 0:
            await asyncio.wait(tasks, timeout=self._shutdown_grace)
        for key, task in list(self._tasks.items()):
            if task in tasks and key not in self._cancelling:
                task.cancel(SHUTDOWN_REASON)
        while self._tasks:  # including jobs abandoned while we waited
            await asyncio.wait(set(self._tasks.values()))

    async def _drive(self, job: Job) -> None:
        started = False
        try:
            async with self._lanes.get(getattr(job, "lane", ""), self._shared).slot():
                started = True
                await job.run()
        except asyncio.CancelledError as error:
            if not started:
                await job.abandon(cancel_reason(error))
        except Exception:
            logger.exception("job %s crashed", job.key)

    def _forget(self, key: Hashable, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._cancelling.discard(key)

"""What the job tests share: a handler that records its runs, a worker running for the length of
a block, and the queue's rows of a run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dspex_gql.jobs.queue import job_lock

SAFETY_SECONDS = 20
"""The longest wait for what should happen within milliseconds: a failure, not a hang."""


class Recorder:
    """A job handler that records each run it is given and tells when it starts; when
    `blocking`, it then waits for `release` (and tells when it is cancelled instead)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, UUID]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.aborted_by_user: bool | None = None
        """On cancellation: whether the run's job was aborted (True) or the worker stopped."""
        self.blocking = False

    async def __call__(self, kind: str, run_id: UUID, aborted: Callable[[], bool]) -> None:
        self.calls.append((kind, run_id))
        self.started.set()
        if not self.blocking:
            return
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.aborted_by_user = aborted()
            self.cancelled.set()
            raise


@contextlib.asynccontextmanager
async def running_worker(
    app: procrastinate.App, queue: str, **options: Any
) -> AsyncIterator[asyncio.Task[None]]:
    """A worker of `queue` in this process until the block ends (then stopped as a service
    stops it: cancelled, jobs still running get 2 s)."""
    worker = asyncio.create_task(
        app.run_worker_async(
            queues=[queue],
            install_signal_handlers=False,
            shutdown_graceful_timeout=2,
            **options,
        )
    )
    try:
        yield worker
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def until_listening(sessions: async_sessionmaker[AsyncSession], queue: str) -> None:
    """Until the worker of `queue` has run its LISTEN (a notification sent before that is not
    seen: the worker just started; there is no event to await, so its connection is looked at)."""
    pattern = f'%LISTEN "procrastinate_queue_v1#{queue}"%'
    seen = text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE :pattern")
    async with asyncio.timeout(SAFETY_SECONDS):
        while True:
            async with sessions() as session:
                if await session.scalar(seen, {"pattern": pattern}):
                    return
            await asyncio.sleep(0.01)


async def jobs_of(
    sessions: async_sessionmaker[AsyncSession], kind: str, run_id: UUID
) -> list[dict[str, Any]]:
    """The run's rows in procrastinate_jobs, oldest first."""
    async with sessions() as session:
        result = await session.execute(
            text("SELECT * FROM procrastinate_jobs WHERE lock = :lock ORDER BY id"),
            {"lock": job_lock(kind, run_id)},
        )
        return [dict(row) for row in result.mappings()]


async def status_of(
    sessions: async_sessionmaker[AsyncSession], job_id: int, until: set[str]
) -> str:
    """The job's status once it is one of `until`: another process (or a worker task) moves
    it, so the row is polled, with a deadline."""
    deadline = asyncio.get_running_loop().time() + SAFETY_SECONDS
    while True:
        async with sessions() as session:
            status: str = (
                await session.execute(
                    text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"),
                    {"id": job_id},
                )
            ).scalar_one()
        if status in until or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)  # polling a row another task writes

"""The orchestrator's task lifecycle, with jobs that record what happened to them."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field

from dspex_gql.orchestrator import Orchestrator, cancel_reason
from dspex_gql.orchestrator.orchestrator import SHUTDOWN_REASON


@dataclass
class Job:
    key: Hashable
    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: str | None = None

    async def run(self) -> None:
        self.started.set()
        try:
            await self.release.wait()
            self.outcome = "done"
        except asyncio.CancelledError as error:
            self.outcome = f"cancelled: {cancel_reason(error)}"
            raise

    async def abandon(self, reason: str) -> None:
        self.outcome = f"abandoned: {reason}"


async def test_concurrency_is_bounded_and_queued_jobs_run_in_turn() -> None:
    async with Orchestrator(max_concurrency=1) as orchestrator:
        first, second = Job("a"), Job("b")
        orchestrator.submit(first)
        orchestrator.submit(second)
        await first.started.wait()

        assert not await orchestrator.wait("b", 0.05)
        assert not second.started.is_set()
        first.release.set()
        await second.started.wait()
        second.release.set()
        assert await orchestrator.wait("b", 5)

    assert (first.outcome, second.outcome) == ("done", "done")


async def test_cancel_reaches_a_running_job_with_its_reason() -> None:
    async with Orchestrator(max_concurrency=2) as orchestrator:
        job = Job("a")
        orchestrator.submit(job)
        await job.started.wait()

        assert await orchestrator.cancel("a", "Cancelled by user")
        assert not await orchestrator.cancel("a", "again")

    assert job.outcome == "cancelled: Cancelled by user"


async def test_a_queued_job_cancelled_before_it_starts_is_abandoned() -> None:
    async with Orchestrator(max_concurrency=1) as orchestrator:
        blocker, queued = Job("a"), Job("b")
        orchestrator.submit(blocker)
        orchestrator.submit(queued)
        await blocker.started.wait()

        await orchestrator.cancel("b", "Cancelled by user")
        blocker.release.set()

    assert queued.outcome == "abandoned: Cancelled by user"


async def test_stop_gives_running_jobs_their_grace_then_cancels_them() -> None:
    quick, slow = Job("quick"), Job("slow")
    orchestrator = Orchestrator(max_concurrency=2, shutdown_grace=0.2)
    orchestrator.submit(quick)
    orchestrator.submit(slow)
    await asyncio.gather(quick.started.wait(), slow.started.wait())
    quick.release.set()

    await orchestrator.stop()

    assert quick.outcome == "done"
    assert slow.outcome == f"cancelled: {SHUTDOWN_REASON}"
    assert orchestrator.running == 0


async def test_a_job_submitted_while_stopping_is_recorded_as_abandoned() -> None:
    orchestrator = Orchestrator(max_concurrency=1, shutdown_grace=5)
    running = Job("running")
    orchestrator.submit(running)
    await running.started.wait()
    stopping = asyncio.create_task(orchestrator.stop())
    await asyncio.sleep(0)  # let stop() begin its grace period

    late = Job("late")
    orchestrator.submit(late)
    running.release.set()
    await stopping

    assert late.outcome == f"abandoned: {SHUTDOWN_REASON}"
    assert orchestrator.running == 0


@dataclass
class LongJob(Job):
    lane: str = "long"


async def test_a_lane_bounds_its_jobs_apart_from_the_others() -> None:
    async with Orchestrator(max_concurrency=1, lanes={"long": 1}) as orchestrator:
        first_long, second_long, short = LongJob("long-1"), LongJob("long-2"), Job("short")
        orchestrator.submit(first_long)
        orchestrator.submit(second_long)
        orchestrator.submit(short)
        await first_long.started.wait()
        await short.started.wait()  # the long job does not hold the slot short ones wait for

        assert not second_long.started.is_set()
        first_long.release.set()
        await second_long.started.wait()
        second_long.release.set()
        short.release.set()
        assert await orchestrator.wait("long-2", 5.0)
        assert await orchestrator.wait("short", 5.0)

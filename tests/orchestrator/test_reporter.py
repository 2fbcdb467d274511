"""The write-behind reporter, with a unit of work that commits nothing and writers that record
what they were asked to store and announce."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from dspex_gql.orchestrator import ProgressReporter


class Transaction:
    session: Any = None


class SlowUnitOfWork:
    """Each transaction begins once `begin` is set (a database busy elsewhere)."""

    def __init__(self) -> None:
        self.begin = asyncio.Event()
        self.begun = asyncio.Event()
        self.transactions = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Transaction]:
        self.begun.set()
        await self.begin.wait()
        self.transactions += 1
        yield Transaction()


@dataclass
class Writer:
    key: str
    stored_states: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)

    async def store(self, session: Any, change: str) -> str:
        self.stored_states.append(change)
        return change

    def stored(self, change: str) -> None:
        pass

    async def announce(self, stored: str) -> None:
        self.announced.append(stored)

    def stop_quietly(self) -> None:
        raise AssertionError("nothing moved on")


class TestAFinalStateDuringAFlush:
    async def test_the_flush_leaves_the_run_to_its_final_write(self) -> None:
        uow = SlowUnitOfWork()
        reporter = ProgressReporter(uow, interval=60)  # type: ignore[arg-type]
        run, other = Writer("run"), Writer("other")
        reporter.report(run, "running 1")
        reporter.report(other, "running 1")
        flush = asyncio.create_task(reporter.flush())
        await uow.begun.wait()

        finish = asyncio.create_task(reporter.finish(run, "succeeded"))
        await asyncio.sleep(0)
        uow.begin.set()

        assert await flush
        assert await finish
        assert run.stored_states == ["succeeded"]
        assert run.announced == ["succeeded"]
        assert other.stored_states == other.announced == ["running 1"]
        assert uow.transactions == 2

    async def test_a_flush_written_before_the_final_state_is_announced_first(self) -> None:
        uow = SlowUnitOfWork()
        uow.begin.set()
        reporter = ProgressReporter(uow, interval=60)  # type: ignore[arg-type]
        run = Writer("run")
        reporter.report(run, "running 1")

        assert await reporter.flush()
        assert await reporter.finish(run, "succeeded")
        assert run.announced == ["running 1", "succeeded"]


class RefusedWriter(Writer):
    """A run whose every state the database refuses (a bug, not an outage)."""

    async def store(self, session: Any, change: str) -> str:
        raise ValueError("the database refused this row")


class TestAStateTheDatabaseRefuses:
    async def test_holds_up_no_other_state_of_its_flush(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        uow = SlowUnitOfWork()
        uow.begin.set()
        reporter = ProgressReporter(uow, interval=60)  # type: ignore[arg-type]
        refused, other = RefusedWriter("refused"), Writer("other")
        reporter.report(refused, "running 1")
        reporter.report(other, "running 1")

        assert await reporter.flush()

        assert other.stored_states == other.announced == ["running 1"]
        assert refused.announced == []
        assert "the database refused the progress of refused" in caplog.text
        assert uow.transactions == 3  # together, then each alone


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingUnitOfWork:
    """Each transaction is held open until `release` is set, then the next one must wait again."""

    def __init__(self) -> None:
        self.began = asyncio.Queue[int]()
        self.release = asyncio.Event()
        self.transactions = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Transaction]:
        self.transactions += 1
        self.began.put_nowait(self.transactions)
        await self.release.wait()
        self.release.clear()
        yield Transaction()


class TestTheWriteBehindWindow:
    async def test_a_change_waits_for_the_window_and_a_slow_write_is_followed_at_once(
        self,
    ) -> None:
        """The window starts at the first change since the last write began: a change made
        while a write took longer than the window is written as soon as that write ends."""
        uow, clock = CountingUnitOfWork(), Clock()
        run = Writer("run")
        reporter = ProgressReporter(uow, interval=3600, clock=clock)  # type: ignore[arg-type]
        async with reporter:
            reporter.report_now(run, "running 1")
            assert await uow.began.get() == 1
            reporter.report(run, "running 2")  # while the first write is under way
            clock.now += 3601  # the first write takes longer than the window
            uow.release.set()
            async with asyncio.timeout(30):  # at once, not after another window of an hour
                assert await uow.began.get() == 2
            clock.now += 1
            reporter.report(run, "running 3")  # its window has most of an hour to go
            uow.release.set()
            for _ in range(20):  # the loop turns over; nothing begins within the window
                await asyncio.sleep(0)
            assert uow.began.empty()
            assert run.stored_states == ["running 1", "running 2"]
            reporter.report_now(run, "running 4")  # a status change does not wait
            assert await uow.began.get() == 3
            uow.release.set()

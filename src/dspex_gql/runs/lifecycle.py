"""The life of every run, written once: executions, program initializations, optimization runs.

    class ExecutionJob(RunJob):
        kind = "execution"
        async def perform(self) -> dict[str, Any]: ...          # the run's own work
        async def store(self, session, change) -> Row | None: ...  # its stored form of a state
        event_type = ExecutionChanged                          # what subscribers are told

`RunJob.run()` does the rest, the same way for every kind: RUNNING written behind, the terminal
state written at once (retried while the database is away) and only then announced; a
`RunFailed` ends FAILED in its own words, anything else FAILED with "Internal error (error id …)";
a cancellation ends CANCELLED with its reason — except a shutdown, which leaves a `resumable` run
RUNNING (`Phase.SUSPENDED`) for the next process, and a run taken over or cancelled elsewhere
(`SUPERSEDED`), which writes nothing more. A terminal state the database refuses (not away: a bug,
or data no column takes) ends the run FAILED with "Internal error (error id …)" all the same,
written by `store_failure`, so no run waits for good on a write that can never succeed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.base import utcnow
from dspex_gql.orchestrator import SHUTDOWN_REASON, SUPERSEDED, cancel_reason
from dspex_gql.runs.events import RunEvent

if TYPE_CHECKING:
    from dspex_gql.runs.runs import Runs

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RunKey:
    """How the orchestrator knows a run's job: its kind and its id (`execution:<uuid>`)."""

    kind: str
    id: UUID

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


class Phase(Enum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    """Stopped by a shutdown, left RUNNING for the next process to resume."""
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (Phase.RUNNING, Phase.SUSPENDED)


class RunFailed(Exception):
    """A failure the run reports in its own words (an adapter's error): it ends FAILED."""


@dataclass(frozen=True)
class StateChange:
    """One state of a run, on its way to the store (`RunJob.store`) and then to subscribers."""

    sequence: int
    phase: Phase
    values: Mapping[str, Any]
    """Columns of this state: `started_at`, `completed_at` when terminal, results, `error`."""
    elapsed_ms: int | None


class RunJob(ABC):
    """A run's job: what every kind shares. Subclasses set `kind` and write the hooks below."""

    kind: ClassVar[str]
    lane: ClassVar[str | None] = None
    """The orchestrator lane it waits for a slot of (None: the shared slots)."""
    resumable: ClassVar[bool] = False
    reports_running: ClassVar[bool] = True
    event_type: ClassVar[type[RunEvent] | None] = None
    """What subscribers are told of each state stored (None: nothing)."""

    def __init__(
        self, runs: Runs, id: UUID, sequence: int = 1, started_at: datetime | None = None
    ) -> None:
        self.runs = runs
        self.id = id
        self.key = RunKey(self.kind, id)
        """How the orchestrator and the reporter know this job."""
        self.sequence = sequence
        """The stored row's: every state written gets the next one."""
        self.started_at = started_at
        """Kept across a resume."""
        self._clock: float | None = None
        self._task: asyncio.Task[Any] | None = None

    # -- what a kind supplies ---------------------------------------------------------------------

    @abstractmethod
    async def perform(self) -> dict[str, Any]:
        """Do the run's work; the columns of its COMPLETED state."""

    @abstractmethod
    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        """Write this state; the row's `event_type` columns as stored (what `announce` gets), or
        None when the row moved on without this job (nothing to announce: the job stops)."""

    def stored(self, change: StateChange) -> None:  # noqa: B027 (optional hook)
        """Told once `change` is committed, before it is announced."""

    async def store_failure(self, session: AsyncSession, change: StateChange) -> Any | None:
        """Write a FAILED `change` that carries only its error, after the database refused this
        run's terminal state: what `store` adds besides the run's row (a DAG run's nodes) may be
        what it refused. `store` by default."""
        return await self.store(session, change)

    def columns(self) -> dict[str, Any]:
        """Columns every state of this run carries (what its progress adds up to so far)."""
        return {}

    # -- the lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        self._task = asyncio.current_task()
        self._log("resumed after a restart" if self.started_at else "started")
        self.started_at = self.started_at or utcnow()
        self._clock = time.perf_counter()
        if self.reports_running:
            self.report_running()
        try:
            values = await self.perform()
        except asyncio.CancelledError as error:
            await self._stopped(cancel_reason(error))
            raise
        except RunFailed as error:
            await self.finish(Phase.FAILED, error=str(error))
        except Exception:
            await self.finish(Phase.FAILED, error=self._internal_error())
        else:
            await self.finish(Phase.COMPLETED, **values)

    async def abandon(self, reason: str) -> None:
        """Cancelled before it started (or submitted while the service stops)."""
        await self._stopped(reason)

    def report(self, **values: Any) -> None:
        """Stage a RUNNING state, written behind with whatever comes before the next flush."""
        self.runs.reporter.report(self, self._change(Phase.RUNNING, values))

    def report_running(self) -> None:
        """The run has started: by default written behind like its progress."""
        self.report()

    async def finish(self, phase: Phase, **values: Any) -> None:
        try:
            await uninterrupted(self.runs.reporter.finish(self, self._change(phase, values)))
        except Exception:
            if not phase.is_terminal:
                raise
            phase, values = Phase.FAILED, {"error": self._internal_error()}
            failure = self._change(phase, values, columns=False)
            await uninterrupted(self.runs.reporter.finish(_FailureWriter(self), failure))
        self._ended(phase, values.get("error"))

    async def announce(self, stored: Any) -> None:
        """Tell subscribers what `store` stored."""
        if self.event_type is not None:
            await self.runs.announce(self.event_type.of(stored))

    def stop_quietly(self) -> None:
        """The run moved on without this job (cancelled elsewhere, or taken over): stop."""
        if self._task is not None:
            self._task.cancel(SUPERSEDED)

    async def _stopped(self, reason: str) -> None:
        if reason == SUPERSEDED:
            return
        if reason == SHUTDOWN_REASON and self.resumable:
            await self.finish(Phase.SUSPENDED)
            return
        await self.finish(Phase.CANCELLED, error=reason)

    def _ended(self, phase: Phase, error: str | None) -> None:
        if phase is Phase.SUSPENDED:
            self._log("suspended for the next process to resume", status=phase.value)
            return
        self.runs.outcomes[self.kind, phase.value] += 1
        why = f": {error}" if error else ""
        self._log(f"finished {phase.value}{why}", status=phase.value, reason=error)

    def _log(self, what: str, **fields: Any) -> None:
        logger.info("%s %s", self.key, what, extra={"run": str(self.key), **fields})

    def _change(self, phase: Phase, values: Mapping[str, Any], columns: bool = True) -> StateChange:
        """`columns`: with what the run's progress adds up to (`columns()`)."""
        self.sequence += 1
        elapsed = None if self._clock is None else time.perf_counter() - self._clock
        elapsed_ms = None if elapsed is None else round(elapsed * 1000)
        totals = self.columns() if columns else {}
        if phase.is_terminal:
            values = {"completed_at": utcnow(), **values}
        stored = {"started_at": self.started_at, **totals, **values}
        return StateChange(self.sequence, phase, stored, elapsed_ms)

    def _internal_error(self) -> str:
        error_id = uuid.uuid4().hex[:12]
        logger.exception("%s failed unexpectedly (error id %s)", self.key, error_id)
        return f"Internal error (error id {error_id})"


@dataclass(frozen=True)
class _FailureWriter:
    """A job's FAILED state, written by its `store_failure` and announced as a state of the run
    alone (nothing its `announce` adds)."""

    job: RunJob

    @property
    def key(self) -> RunKey:
        return self.job.key

    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        return await self.job.store_failure(session, change)

    def stored(self, change: StateChange) -> None:
        pass

    async def announce(self, stored: Any) -> None:
        await RunJob.announce(self.job, stored)

    def stop_quietly(self) -> None:
        self.job.stop_quietly()


async def uninterrupted(write: Awaitable[T]) -> T:
    """Await a job's record of its outcome to the end, even when the job is cancelled meanwhile
    (the cancellation then goes on): a run is never left without its final state."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise

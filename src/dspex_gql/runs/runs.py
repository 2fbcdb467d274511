"""What services and jobs share to run things: the orchestrator, the write-behind reporter, this
process's lease, the hub, and the job queue when runs go to worker processes (`DSPEX_JOBS`).

    process_id = await runs.owner()                 # before the transaction that inserts the row
    async with uow() as tx:
        ...insert the PENDING row with process_id...
        await runs.launch(tx, job, ExecutionChanged.of(row))   # run it, announce it
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any
from uuid import UUID

from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import Recorded
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.errors import Conflict
from dspex_gql.identity import Actor
from dspex_gql.orchestrator import Job, Orchestrator, ProgressReporter
from dspex_gql.orchestrator.lease import ProcessLease
from dspex_gql.pubsub import Hub
from dspex_gql.runs.events import RunEvent
from dspex_gql.runs.kinds import RunKind
from dspex_gql.runs.lifecycle import Phase, RunJob, RunKey
from dspex_gql.runs.queueing import RunQueue

logger = logging.getLogger(__name__)

CANCELLED_BY_USER = "Cancelled by user"
CANCEL_ATTEMPTS = 5
"""How often a cancellation in place reads the run again when its process wrote meanwhile."""


class Runs:
    def __init__(
        self,
        orchestrator: Orchestrator,
        reporter: ProgressReporter,
        lease: ProcessLease,
        hub: Hub,
        queue: RunQueue | None = None,
    ) -> None:
        self.orchestrator = orchestrator
        self.reporter = reporter
        self.lease = lease
        self.hub = hub
        self.queue = queue
        """Where runs of the kinds it takes go instead of this process's orchestrator."""
        self.outcomes: Counter[tuple[str, str]] = Counter()
        """Runs this process ended, by kind and terminal status (`("execution", "completed")`)."""
        self._cancels_recording: set[RunKey] = set()
        """Runs of this process whose cancellation is being recorded, before their job stops."""

    async def owner(self) -> UUID:
        """The id of this process's lease, which a new run's row carries (renewed if overdue)."""
        return await self.lease.held()

    def queued(self, kind: str) -> bool:
        """Whether runs of `kind` go to the job queue (a worker runs them)."""
        return self._queue_of(kind) is not None

    def _queue_of(self, kind: str) -> RunQueue | None:
        return self.queue if self.queue is not None and self.queue.takes(kind) else None

    def starting(
        self, uow: UnitOfWorkFactory, kind: RunKind
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """The unit of work that inserts a run of `kind` (its row, its audit row, a DAG run's
        nodes) and `launch`es it: one that only inserts (`UnitOfWorkFactory.inserting`), unless
        the job queue takes the kind, whose job row is written in the same transaction."""
        return uow() if self.queued(kind.name) else uow.inserting()

    async def launch(self, tx: UnitOfWork, job: RunJob, event: RunEvent | None = None) -> None:
        """Start the job once `tx` commits — here, or on a worker when the job queue takes its
        kind (queued in `tx`: the row and its job are committed together) — and announce the
        state it starts from."""
        queue = self._queue_of(job.kind)
        if queue is not None:
            await queue.enqueue(tx, job)
            self.announce_after(tx, [] if event is None else [event])
        else:
            tx.after_commit(partial(self._start, job, event))

    async def _start(self, job: Job, event: RunEvent | None) -> None:
        self.orchestrator.submit(job)
        if event is not None:
            await self.announce_all([event])

    def announce_after(self, tx: UnitOfWork, events: Iterable[RunEvent]) -> None:
        """Once `tx` commits, publish what it stored."""
        ready = list(events)
        if ready:
            tx.after_commit(lambda: self.announce_all(ready))

    async def announce(self, event: RunEvent) -> None:
        await self.hub.publish_on(event.channels(), event)

    async def announce_all(self, events: list[RunEvent]) -> None:
        """Each one, even when an earlier one could not be published."""
        for event in events:
            try:
                await self.announce(event)
            except Exception:
                logger.warning("could not publish %s", event.key, exc_info=True)

    @staticmethod
    async def _cancel_in_place(
        tx: UnitOfWork, kind: RunKind, run: Any, reason: str
    ) -> tuple[Any, Recorded]:
        """Store CANCELLED on the run's row, after whatever state its process wrote since `run`
        was read (a progress write moves its sequence on); refused only once the run has ended."""
        values = {"error": reason, "completed_at": utcnow()}
        for _ in range(CANCEL_ATTEMPTS):
            recorded = await kind.record(tx.session, run, run.sequence + 1, Phase.CANCELLED, values)
            if recorded is not None:
                return run, recorded
            run = await kind.repository(tx.session, run.organization_id).get(run.id)
            if run is None or run.status.is_terminal:
                break
        raise Conflict(f"The {kind.name} finished before it could be cancelled")

    async def wait(self, key: RunKey, seconds: float) -> bool:
        return await self.orchestrator.wait(key, seconds)

    async def cancel(
        self,
        uow: UnitOfWorkFactory,
        kind: RunKind,
        run: Any,
        reason: str,
        audit: Callable[[UnitOfWork], None],
        *,
        by: Actor,
    ) -> None:
        """Cancel a run once: its job when this process runs it, else its row in place (another
        replica's run, which stops at its next write; or an orphan) and its queued job, which
        its worker aborts once this commits. `audit` is recorded with the cancellation."""
        if run.status.is_terminal:
            raise Conflict(f"The {kind.name} already finished ({run.status.value})")
        key = kind.key(run.id)
        if self.orchestrator.cancelling(key) or key in self._cancels_recording:
            raise Conflict(f"The {kind.name} is already being cancelled")
        record = audit
        if self.orchestrator.runs(key):
            if await self._cancel_job(uow, key, reason, audit):
                _log_cancel(key, by)
                return
            record = _recorded_already  # the job ended meanwhile
        async with uow() as tx:  # not ours, or it ended meanwhile
            run, recorded = await self._cancel_in_place(tx, kind, run, reason)
            await kind.ended(tx.session, run)
            self.outcomes[kind.name, Phase.CANCELLED.value] += 1
            queue = self._queue_of(kind.name)
            if queue is not None:
                await queue.cancel(tx, kind.name, run.id)
            record(tx)
            self.announce_after(tx, [kind.event.of(recorded.row)])
        _log_cancel(key, by)

    async def _cancel_job(
        self,
        uow: UnitOfWorkFactory,
        key: RunKey,
        reason: str,
        audit: Callable[[UnitOfWork], None],
    ) -> bool:
        """Record the cancellation, then stop the job and wait until it has stored its end;
        False if it ended meanwhile. Recorded first: while the database cannot take it (reads
        may work and writes not), the request is told to retry and the run goes on, instead of
        the run cancelled and its record lost."""
        self._cancels_recording.add(key)
        try:
            async with uow() as tx:
                audit(tx)
            return await self.orchestrator.cancel(key, reason)
        finally:
            self._cancels_recording.discard(key)


def _recorded_already(_tx: UnitOfWork) -> None:
    """The audit of a cancellation `Runs._cancel_job` recorded before the job ended."""


def _log_cancel(key: RunKey, by: Actor) -> None:
    logger.info(
        "%s cancelled by user %s", key, by.user_id, extra={"run": str(key), "by": by.user_id}
    )

"""Runs that worker processes run (`DSPEX_JOBS=procrastinate`): their job is queued in the
transaction that inserts their row, so both are committed or neither; a worker claims the row
and rebuilds the job from it (`runs/worker.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from uuid import UUID

from dspex_gql.db.uow import UnitOfWork
from dspex_gql.jobs import queue

if TYPE_CHECKING:
    from dspex_gql.runs.lifecycle import RunJob


class RunQueue:
    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = frozenset(kinds)
        """The kinds of run it takes (`RunJob.kind`); the others run in the process that starts
        them."""

    def takes(self, kind: str) -> bool:
        return kind in self.kinds

    async def enqueue(self, tx: UnitOfWork, job: RunJob) -> None:
        await queue.enqueue(tx.session, job.kind, job.id, queue.queue_of(job.lane))

    async def cancel(self, tx: UnitOfWork, kind: str, run_id: UUID) -> None:
        """Once `tx` commits, a waiting job never runs and a running one is aborted."""
        await queue.cancel(tx.session, kind, run_id)

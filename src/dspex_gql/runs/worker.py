"""The runs a job queue hands this process by kind and id: each is claimed, rebuilt from its row
(`JobLoader`) and run as the orchestrator runs a job.

    runner = QueuedRuns(uow, runs, loaders)
    await runner.run("execution", run_id, aborted=lambda: False)

The queue cancels the task that runs it for two reasons: the run was cancelled (its end is
recorded by whoever cancelled it, so the job stops without writing), or the worker is shutting
down (an execution ends CANCELLED as interrupted; a resumable run stays RUNNING and `Suspended`
asks the queue to hand it to another worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from uuid import UUID

from dspex_gql.db.repository import claim_run
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.jobs.app import Suspended
from dspex_gql.orchestrator import SHUTDOWN_REASON, SUPERSEDED
from dspex_gql.runs.lifecycle import RunJob
from dspex_gql.runs.loading import JobLoader
from dspex_gql.runs.runs import Runs

logger = logging.getLogger(__name__)


class QueuedRuns:
    def __init__(self, uow: UnitOfWorkFactory, runs: Runs, loaders: Iterable[JobLoader]) -> None:
        self._uow = uow
        self._runs = runs
        self._loaders = {loader.kind.name: loader for loader in loaders}

    async def run(self, kind: str, run_id: UUID, aborted: Callable[[], bool]) -> None:
        """Run it to its end; `aborted()` tells, once the task is cancelled, whether the run was
        cancelled (True) or the worker is stopping (False)."""
        job = await self._claim(kind, run_id)
        if job is not None:
            await self._drive(job, aborted)

    async def _claim(self, kind: str, run_id: UUID) -> RunJob | None:
        loader = self._loaders.get(kind)
        if loader is None:
            logger.error("a queued job of an unknown kind of run %r (%s) is dropped", kind, run_id)
            return None
        taker = await self._runs.owner()  # before the transaction: SQLite has one writer
        async with self._uow() as tx:
            model = loader.kind.repository.model
            run = await claim_run(tx.session, model, loader.unfinished, run_id, taker)
            return None if run is None else await loader.load(tx, run)

    async def _drive(self, job: RunJob, aborted: Callable[[], bool]) -> None:
        task = asyncio.create_task(job.run(), name=f"job:{job.key}")
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            stopping = not aborted()
            task.cancel(SHUTDOWN_REASON if stopping else SUPERSEDED)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if stopping and job.resumable:
                raise Suspended(str(job.key)) from None
            raise

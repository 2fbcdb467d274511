"""Worker processes of the job queue (`DSPEX_JOBS=procrastinate`): `dspex-gql worker`, or the
worker `dspex-gql serve` embeds. One procrastinate worker per queue, each with its own bound
(executions never wait behind long optimization loops), handing each job's run to `QueuedRuns`;
and a sweep that gives a dead worker's jobs back to the queue.

    await work(runtime, stop, queues=["executions", "dags"])     # until `stop` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from functools import partial

from procrastinate.worker import Worker

from dspex_gql.config import Settings
from dspex_gql.dags.job import DAG_RUNS
from dspex_gql.dags.recovery import ResumedDagRuns
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.executions.job import EXECUTIONS as EXECUTION_RUNS
from dspex_gql.executions.recovery import QueuedExecutions
from dspex_gql.jobs.app import procrastinate_app
from dspex_gql.jobs.errors import AlreadyQueued
from dspex_gql.jobs.queue import DAGS, EXECUTIONS, OPTIMIZATIONS, enqueue, without_job
from dspex_gql.jobs.stalled import requeue_stalled
from dspex_gql.optimization_runs.job import OPTIMIZATIONS as OPTIMIZATION_RUNS
from dspex_gql.optimization_runs.recovery import ResumedOptimizations
from dspex_gql.orchestrator.periodic import repeating
from dspex_gql.runs.loading import JobLoader
from dspex_gql.runs.worker import QueuedRuns
from dspex_gql.runtime import Runtime

logger = logging.getLogger(__name__)

QUEUES = (EXECUTIONS, OPTIMIZATIONS, DAGS)
QUEUE_OF_KIND = {EXECUTION_RUNS.name: EXECUTIONS, OPTIMIZATION_RUNS.name: OPTIMIZATIONS}
QUEUE_OF_KIND[DAG_RUNS.name] = DAGS
RESTART_PAUSE_SECONDS = 0.5
MAX_RESTART_PAUSE_SECONDS = 30.0


def loaders(runtime: Runtime) -> list[JobLoader]:
    """What rebuilds each queued kind of run from its row."""
    runs, invoker, secrets = runtime.runs, runtime.invoker, runtime.secrets
    return [
        QueuedExecutions(runs, invoker, secrets),
        ResumedOptimizations(runs, invoker, runtime.metrics, secrets),
        ResumedDagRuns(runs, invoker, runtime.settings.dag, secrets),
    ]


def concurrency_of(settings: Settings, queue: str) -> int:
    bounds = {
        EXECUTIONS: settings.execution.max_concurrency,
        OPTIMIZATIONS: settings.optimization.max_running,
        DAGS: settings.dag.max_running,
    }
    return bounds[queue]


async def work(
    runtime: Runtime,
    stop: asyncio.Event,
    queues: Sequence[str] = QUEUES,
    concurrency: int | None = None,
) -> None:
    """Run the queues' jobs until `stop` is set; then each worker stops taking jobs, gives the
    running ones `DSPEX_EXECUTION_SHUTDOWN_GRACE_SECONDS` to finish and stops the rest (a
    resumable run goes back to the queue for another worker; an execution ends interrupted)."""
    settings = runtime.settings
    execution = settings.execution
    stalled_after = execution.lease_seconds
    kinds = loaders(runtime)
    app = procrastinate_app(settings.database.url, QueuedRuns(runtime.uow, runtime.runs, kinds).run)

    def worker_of(queue: str) -> Worker:
        return Worker(
            app=app,
            queues=[queue],
            name=f"{queue}-{runtime.runs.lease.id.hex[:8]}",
            concurrency=concurrency or concurrency_of(settings, queue),
            install_signal_handlers=False,
            shutdown_graceful_timeout=execution.shutdown_grace_seconds,
            update_heartbeat_interval=stalled_after / 3,
            stalled_worker_timeout=stalled_after,
            delete_jobs="successful",
        )

    async def sweep() -> None:
        await requeue_stalled(app, stalled_after)
        await requeue_orphans(runtime.uow, kinds)

    workers = [Supervised(queue, partial(worker_of, queue)) for queue in queues]
    async with app.open_async(), repeating(stalled_after / 3, sweep, "requeue runs"):
        logger.info("working on the queues %s", ", ".join(queues))
        running = [asyncio.create_task(worker.run(), name=worker.queue) for worker in workers]
        await stop.wait()
        for worker in workers:
            worker.stop()
        await asyncio.gather(*running)  # their running jobs record how they ended first


class Supervised:
    """A queue's procrastinate worker, started again whenever it stops on its own (a database
    outage stops it: procrastinate issue #1116), after a pause that grows to 30 s, until
    `stop()`."""

    def __init__(self, queue: str, start: Callable[[], Worker]) -> None:
        self.queue = queue
        self._start = start
        self._current: Worker | None = None
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        pause = RESTART_PAUSE_SECONDS
        while not self._stopping.is_set():
            self._current = self._start()
            try:
                await self._current.run()  # type: ignore[no-untyped-call]
            except Exception:
                logger.warning("the %s worker failed", self.queue, exc_info=True)
            if self._stopping.is_set():
                return
            logger.warning("the %s worker stopped; starting it again in %g s", self.queue, pause)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._stopping.wait()
            pause = min(2 * pause, MAX_RESTART_PAUSE_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        if self._current is not None:
            self._current.stop()  # type: ignore[no-untyped-call]


async def requeue_orphans(uow: UnitOfWorkFactory, kinds: Sequence[JobLoader]) -> int:
    """Queue again the unfinished runs no job waits for or runs (runs left by the in-process
    mode, or whose job ended without ending them): nothing stays RUNNING forever."""
    requeued = 0
    async with uow() as tx:
        for loader in kinds:
            kind, model = loader.kind.name, loader.kind.repository.model
            for run_id in await without_job(tx.session, model, loader.unfinished, kind):
                with contextlib.suppress(AlreadyQueued):  # another worker's sweep was first
                    await enqueue(tx.session, kind, run_id, QUEUE_OF_KIND[kind])
                    requeued += 1
    if requeued:
        logger.warning("queued again %d unfinished runs that had no job", requeued)
    return requeued

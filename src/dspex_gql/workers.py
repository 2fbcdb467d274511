"""Worker processes of the job queue (`DSPEX_JOBS=procrastinate`): `dspex-gql worker`, or the
worker `dspex-gql serve` embeds. One procrastinate worker per queue, each with its own bound
(executions never wait behind long optimization loops), handing each job's run to `QueuedRuns`;
and a sweep that gives a dead worker's jobs back to the queue.

    await work(runtime, stop, queues=["executions", "dags"])     # until `stop` is set
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from procrastinate.worker import Worker

from dspex_gql.config import Settings
from dspex_gql.dags.recovery import ResumedDagRuns
from dspex_gql.executions.recovery import QueuedExecutions
from dspex_gql.jobs.app import procrastinate_app
from dspex_gql.jobs.queue import DAGS, EXECUTIONS, OPTIMIZATIONS
from dspex_gql.jobs.stalled import requeue_stalled
from dspex_gql.optimization_runs.recovery import ResumedOptimizations
from dspex_gql.orchestrator.periodic import repeating
from dspex_gql.runs.loading import JobLoader
from dspex_gql.runs.worker import QueuedRuns
from dspex_gql.runtime import Runtime

logger = logging.getLogger(__name__)

QUEUES = (EXECUTIONS, OPTIMIZATIONS, DAGS)


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
    runner = QueuedRuns(runtime.uow, runtime.runs, loaders(runtime))
    app = procrastinate_app(settings.database.url, runner.run)
    workers = [
        Worker(
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
        for queue in queues
    ]

    async def sweep() -> None:
        await requeue_stalled(app, stalled_after)

    async with app.open_async(), repeating(stalled_after / 3, sweep, "requeue stalled jobs"):
        logger.info("working on the queues %s", ", ".join(queues))
        running = [
            asyncio.create_task(worker.run(), name=worker.worker_name)  # type: ignore[no-untyped-call]
            for worker in workers
        ]
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *running], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for worker in workers:
            worker.stop()  # type: ignore[no-untyped-call]
        for ended in await asyncio.gather(*running, return_exceptions=True):
            if isinstance(ended, Exception):
                logger.error("a worker stopped on an error", exc_info=ended)

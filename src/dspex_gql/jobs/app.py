"""The procrastinate app of a worker process: one task, `dspex.run`, that hands a job's run to
our handler.

async with procrastinate_app(settings.database.url, run).open_async() as app:
    await app.run_worker_async(queues=[EXECUTIONS], install_signal_handlers=False)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

import procrastinate
from procrastinate.job_context import AbortReason

from dspex_gql.jobs.conninfo import conninfo
from dspex_gql.jobs.queue import TASK
from dspex_gql.observability import request_scope

logger = logging.getLogger(__name__)

Handler = Callable[[str, UUID, Callable[[], bool]], Awaitable[None]]
"""Runs one run, e.g. `await handler("execution", run_id, aborted)`. Cancelled when the job is
aborted (`jobs.queue.cancel`: then `aborted()` is True) or the worker stops (False); raises
`Suspended` to hand the run to another worker."""


class Suspended(Exception):
    """A run stopped by the worker's shutdown that another worker resumes: its job goes back to
    `todo` instead of ending `aborted`."""


RESUME = procrastinate.RetryStrategy(retry_exceptions={Suspended})
"""Only a suspended run's job is tried again; any other failure is the run's own, recorded in
its row."""


def procrastinate_app(
    database_url: str, handler: Handler, *, pool_size: int = 2
) -> procrastinate.App:
    """An app on a small psycopg pool of its own (`pool_size` connections, plus one per worker
    for LISTEN), to the database of our SQLAlchemy url."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=pool_size
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK, pass_context=True, retry=RESUME)
    async def run(
        context: procrastinate.JobContext, kind: str, run_id: str, request_id: str | None = None
    ) -> None:
        def aborted() -> bool:
            return context.abort_reason() is AbortReason.USER_REQUEST

        try:
            with request_scope(request_id):
                await handler(kind, UUID(run_id), aborted)
        except asyncio.CancelledError:
            logger.info("%s:%s cancelled: %s", kind, run_id, context.abort_reason())
            raise

    return app

"""Enqueue and cancel a run's job inside the caller's own transaction (asyncpg or any driver), by
calling procrastinate's SQL functions ourselves.

procrastinate's Python API writes through its own psycopg connection, which cannot join our
SQLAlchemy/asyncpg transaction; its versioned SQL functions can. A run's row and its job are then
committed, or rolled back, together. The price: we depend on `procrastinate_defer_jobs_v1` and
`procrastinate_cancel_job_v1` (internal, versioned API of the schema in migration 0009), which
the tests in tests/jobs/ run with a real worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import String, cast, column, exists, literal, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.jobs.errors import AlreadyQueued
from dspex_gql.observability import current_request_id

EXECUTIONS = "executions"
"""Executions and program initializations: the runs of no lane, sharing the process's slots."""
OPTIMIZATIONS = "optimizations"
DAGS = "dags"
QUEUES = {"execution": EXECUTIONS, "optimization": OPTIMIZATIONS, "dag": DAGS}
"""The queue of each orchestrator lane (`RunJob.lane`; "execution" names the shared slots)."""

TASK = "dspex.run"
"""The one task of every run; its arguments say which: `{"kind": ..., "run_id": ...}`, and
`request_id`, the request that queued it (its worker's lines of the run carry it)."""
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"
"""At most one `todo` job per queueing lock: a second enqueue of a waiting run breaks it."""

JOBS = table("procrastinate_jobs", column("lock"))
WAITING_OR_RUNNING = text("procrastinate_jobs.status IN ('todo', 'doing')")

DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        CAST(:queue AS varchar), CAST(:task AS varchar), CAST(:priority AS integer),
        CAST(:lock AS text), CAST(:lock AS text), CAST(:args AS jsonb), NULL::timestamptz
    )::procrastinate_job_to_defer_v1]))
    """
)
CANCEL = text(
    """
    WITH job AS (
        SELECT id FROM procrastinate_jobs
         WHERE lock = :lock AND status IN ('todo', 'doing')
           FOR UPDATE
    )
    SELECT procrastinate_cancel_job_v1(id, true, false) FROM job
    """
)


def queue_of(lane: str | None) -> str:
    """The queue of a run whose job waits in `lane` (`RunJob.lane`): `queue_of(None)` is
    `executions`, `queue_of("dag")` is `dags`."""
    return QUEUES[lane or "execution"]


def job_lock(kind: str, run_id: UUID) -> str:
    """A run's `lock` and `queueing_lock`: `execution:8a0c…e1`, as `RunKey` prints it. The lock
    keeps two jobs of one run from running at once; the queueing lock, from waiting at once."""
    return f"{kind}:{run_id}"


async def enqueue(
    session: AsyncSession, kind: str, run_id: UUID, queue: str, priority: int = 0
) -> int:
    """Defer the run's job in `session`'s transaction and return its id; it becomes visible to
    workers (and they are notified) when that transaction commits. `AlreadyQueued` when the run
    already has a job waiting, and the transaction stays usable."""
    lock = job_lock(kind, run_id)
    arguments = {
        "queue": queue,
        "task": TASK,
        "priority": priority,
        "lock": lock,
        "args": json.dumps(
            {"kind": kind, "run_id": str(run_id), "request_id": current_request_id()}
        ),
    }
    # A SAVEPOINT rather than a look first: a look and then the insert would race with a
    # concurrent enqueue of the same run, and the insert that loses would abort the caller's
    # whole transaction. Rolled back to the savepoint, the transaction goes on.
    try:
        async with session.begin_nested():
            job_id: int = (await session.execute(DEFER, arguments)).scalar_one()
    except IntegrityError as error:
        if QUEUEING_LOCK_INDEX in str(error.orig):
            raise AlreadyQueued(kind, run_id) from error
        raise
    return job_id


async def without_job(
    session: AsyncSession, model: Any, unfinished: Iterable[Any], kind: str
) -> list[UUID]:
    """Unfinished runs of `model` (of `kind`) that no job waits for or runs: left over from the
    in-process mode, or by a job that ended without ending its run. At most 1000, oldest first."""
    lock = literal(f"{kind}:") + cast(model.id, String)
    has_job = exists().where(JOBS.c.lock == lock, WAITING_OR_RUNNING)
    query = (
        select(model.id)
        .where(model.status.in_(list(unfinished)), ~has_job)
        .order_by(model.created_at)
        .limit(1000)
    )
    return list(await session.scalars(query))


async def cancel(session: AsyncSession, kind: str, run_id: UUID) -> bool:
    """Cancel the run's waiting or running job in `session`'s transaction: a `todo` job becomes
    `cancelled` and never runs; a `doing` one is asked to abort, and its worker cancels the task
    once the transaction commits. False when the run has no such job."""
    result = await session.execute(CANCEL, {"lock": job_lock(kind, run_id)})
    return any(job_id is not None for job_id in result.scalars())

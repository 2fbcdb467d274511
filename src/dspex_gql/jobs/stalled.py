"""Requeue the jobs of dead workers. A worker killed outright leaves its jobs `doing`, and
procrastinate retries nothing by itself: every worker process sweeps, now and then.

Two sweepers may see the same stalled job. Each requeues it only if it is still `doing` for the
same dead worker (the row locked meanwhile), so the loser does nothing: it neither fails on
procrastinate's "invalid status to retry" nor sends back to `todo` a job that another worker has
taken up since the first sweep.
"""

from __future__ import annotations

import logging

import procrastinate
from procrastinate.jobs import Job

logger = logging.getLogger(__name__)

RETRY_IF_STILL_STALLED = """
    WITH job AS (
        SELECT id, queue_name FROM procrastinate_jobs
         WHERE id = %(job_id)s AND status = 'doing'
           AND worker_id IS NOT DISTINCT FROM %(worker_id)s
           FOR UPDATE
    )
    SELECT procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL),
           pg_notify('procrastinate_queue_v1#' || queue_name,
                     json_build_object('type', 'job_inserted', 'job_id', id)::text)
      FROM job
"""
"""procrastinate's own retry (what `JobManager.retry_job` calls), guarded; and the notification
a new job sends, which a retry does not, so that a listening worker takes it at once rather than
at its next poll."""


async def requeue_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    """Send back to `todo` the `doing` jobs of workers not heard from for
    `seconds_since_heartbeat` (or gone); returns how many this call requeued. The threshold must
    exceed the workers' `update_heartbeat_interval`, and their `shutdown_graceful_timeout` plus
    one interval: a draining worker stops its heartbeat first."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=seconds_since_heartbeat
    )
    requeued = [job for job in stalled if await requeue(app, job)]
    return len(requeued)


async def requeue(app: procrastinate.App, job: Job) -> bool:
    """Send `job`, found stalled, back to `todo` if it still is: `doing` for the same worker
    (one whose abort was asked ends `failed` instead, as procrastinate's retry has it). False
    when another sweeper was first, whatever has happened to the job since.

    procrastinate's `retry_job` alone would not do: it takes any `doing` job, so a sweeper that
    comes second sends a job that a live worker has taken up since back to `todo`, without an
    error (checked: tests/jobs/test_stalled.py shows the guarded case)."""
    rows = await app.connector.execute_query_all_async(
        RETRY_IF_STILL_STALLED, job_id=job.id, worker_id=job.worker_id
    )
    if rows:
        logger.warning("requeued job %s (%s) of a dead worker", job.id, job.call_string)
    return bool(rows)

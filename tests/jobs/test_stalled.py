"""A worker killed outright (SIGKILL) leaves its job `doing`; the sweep finds it once the
worker's heartbeat is old, sends it back to `todo`, and a live worker runs it at once."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from pathlib import Path
from uuid import UUID

import procrastinate
import pytest
from procrastinate.jobs import Job
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dspex_gql.jobs.queue import enqueue
from dspex_gql.jobs.stalled import requeue, requeue_stalled
from tests.jobs.dead_worker import HEARTBEAT_SECONDS
from tests.jobs.support import (
    SAFETY_SECONDS,
    Recorder,
    jobs_of,
    running_worker,
    status_of,
)
from tests.support.external_services import ON_POSTGRESQL

pytestmark = ON_POSTGRESQL
Sessions = async_sessionmaker[AsyncSession]
STALLED_AFTER = 10 * HEARTBEAT_SECONDS
"""Every worker of these tests beats every HEARTBEAT_SECONDS: ten missed beats is dead."""


@pytest.fixture
async def killed_while_running(database_url: str, sessions: Sessions, queue: str) -> UUID:
    """A run whose job a worker process took and then died running (SIGKILL)."""
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await enqueue(session, "optimization", run_id, queue)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("dead_worker.py")),
        database_url,
        queue,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        async with asyncio.timeout(SAFETY_SECONDS):
            line = await worker.stdout.readline()
        assert line.decode().split() == ["started", "optimization", str(run_id)]
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    return run_id


async def stalled_job(app: procrastinate.App, run_id: UUID) -> Job:
    """The run's job once the sweep would see it stalled: the dead worker's heartbeat ages,
    so that is polled, with a deadline."""
    async with asyncio.timeout(SAFETY_SECONDS):
        while True:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER)
            for job in stalled:
                if job.task_kwargs["run_id"] == str(run_id):
                    return job
            await asyncio.sleep(HEARTBEAT_SECONDS)  # polling the age of a heartbeat


async def test_a_dead_worker_s_job_is_requeued_and_run_by_a_live_worker(
    sessions: Sessions,
    queue: str,
    jobs_app: procrastinate.App,
    handler: Recorder,
    killed_while_running: UUID,
) -> None:
    run_id = killed_while_running
    [before] = await jobs_of(sessions, "optimization", run_id)
    assert (before["status"], before["attempts"]) == ("doing", 0)

    # Polling once a minute: only the sweep's notification can start the job in time.
    async with running_worker(
        jobs_app,
        queue,
        fetch_job_polling_interval=60,
        update_heartbeat_interval=HEARTBEAT_SECONDS,
    ):
        await stalled_job(jobs_app, run_id)
        assert await requeue_stalled(jobs_app, seconds_since_heartbeat=STALLED_AFTER) >= 1
        async with asyncio.timeout(SAFETY_SECONDS):
            await handler.started.wait()
        status = await status_of(sessions, before["id"], until={"succeeded"})

    assert handler.calls == [("optimization", run_id)]
    [after] = await jobs_of(sessions, "optimization", run_id)
    # one attempt counted by the requeue (the killed one), one by the end of the job
    assert (status, after["id"], after["attempts"]) == ("succeeded", before["id"], 2)


async def test_a_second_sweeper_leaves_a_requeued_job_alone(
    sessions: Sessions,
    queue: str,
    jobs_app: procrastinate.App,
    handler: Recorder,
    killed_while_running: UUID,
) -> None:
    """Two sweepers saw the same stalled job; the first requeued it and a live worker took it
    up. The second must neither fail nor take the job from that worker."""
    handler.blocking = True
    run_id = killed_while_running
    async with running_worker(jobs_app, queue, update_heartbeat_interval=HEARTBEAT_SECONDS):
        seen_by_both = await stalled_job(jobs_app, run_id)
        assert await requeue(jobs_app, seen_by_both)
        async with asyncio.timeout(SAFETY_SECONDS):
            await handler.started.wait()

        assert not await requeue(jobs_app, seen_by_both)
        [job] = await jobs_of(sessions, "optimization", run_id)
        assert (job["status"], job["attempts"]) == ("doing", 1)
        assert job["worker_id"] != seen_by_both.worker_id
        assert not handler.cancelled.is_set()
        handler.release.set()
        assert await status_of(sessions, job["id"], until={"succeeded"}) == "succeeded"

"""A real procrastinate worker runs the jobs we defer through our own SQL, and aborts a running
one when its run is cancelled."""

from __future__ import annotations

import asyncio
import uuid

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dspex_gql.jobs.queue import cancel, enqueue
from tests.jobs.support import (
    SAFETY_SECONDS,
    Recorder,
    jobs_of,
    running_worker,
    status_of,
    until_listening,
)
from tests.support.external_services import ON_POSTGRESQL

pytestmark = ON_POSTGRESQL
Sessions = async_sessionmaker[AsyncSession]


async def test_a_worker_runs_the_handler_with_the_run(
    sessions: Sessions, queue: str, jobs_app: procrastinate.App, handler: Recorder
) -> None:
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        job_id = await enqueue(session, "optimization", run_id, queue)

    async with asyncio.timeout(SAFETY_SECONDS):
        await jobs_app.run_worker_async(queues=[queue], wait=False, install_signal_handlers=False)

    assert handler.calls == [("optimization", run_id)]
    assert await status_of(sessions, job_id, until={"succeeded"}) == "succeeded"


async def test_a_listening_worker_starts_a_job_when_its_transaction_commits(
    sessions: Sessions, queue: str, jobs_app: procrastinate.App, handler: Recorder
) -> None:
    run_id = uuid.uuid4()
    # Polling once a minute: only the notification of the commit can start the job in time.
    async with running_worker(jobs_app, queue, fetch_job_polling_interval=60):
        await until_listening(sessions, queue)
        async with sessions() as session, session.begin():
            await enqueue(session, "DAG run", run_id, queue)
        async with asyncio.timeout(SAFETY_SECONDS):
            await handler.started.wait()

    assert handler.calls == [("DAG run", run_id)]


async def test_cancelling_a_running_job_cancels_its_handler_at_once(
    sessions: Sessions, queue: str, jobs_app: procrastinate.App, handler: Recorder
) -> None:
    handler.blocking = True
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await enqueue(session, "execution", run_id, queue)

    # The abort poll comes once a minute: only the notification of the cancel can be in time.
    async with running_worker(jobs_app, queue, abort_job_polling_interval=60):
        async with asyncio.timeout(SAFETY_SECONDS):
            await handler.started.wait()
        async with sessions() as session, session.begin():
            assert await cancel(session, "execution", run_id)
        async with asyncio.timeout(SAFETY_SECONDS):
            await handler.cancelled.wait()
        [job] = await jobs_of(sessions, "execution", run_id)
        status = await status_of(sessions, job["id"], until={"aborted"})

    assert handler.cancelled.is_set()
    assert handler.aborted_by_user is True
    assert not handler.release.is_set()
    assert status == "aborted"

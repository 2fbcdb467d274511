"""A run's job is deferred and cancelled inside our own transaction (asyncpg): it exists exactly
when the transaction commits, once per waiting run."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dspex_gql.errors import Conflict
from dspex_gql.jobs.errors import AlreadyQueued
from dspex_gql.jobs.queue import TASK, cancel, enqueue
from dspex_gql.observability import request_scope
from tests.jobs.support import jobs_of
from tests.support.external_services import ON_POSTGRESQL

pytestmark = ON_POSTGRESQL
Sessions = async_sessionmaker[AsyncSession]


async def test_a_job_deferred_in_a_rolled_back_transaction_does_not_exist(
    sessions: Sessions, queue: str
) -> None:
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        job_id = await enqueue(session, "execution", run_id, queue)
        assert job_id > 0
        await session.rollback()

    assert await jobs_of(sessions, "execution", run_id) == []


async def test_a_job_deferred_in_a_committed_transaction_waits_as_todo(
    sessions: Sessions, queue: str
) -> None:
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        with request_scope("the-request"):
            job_id = await enqueue(session, "execution", run_id, queue, priority=3)

    [job] = await jobs_of(sessions, "execution", run_id)
    assert job["id"] == job_id
    assert job["status"] == "todo"
    assert job["queue_name"] == queue
    assert job["task_name"] == TASK == "dspex.run"
    assert job["lock"] == job["queueing_lock"] == f"execution:{run_id}"
    assert job["args"] == {
        "kind": "execution",
        "run_id": str(run_id),
        "request_id": "the-request",  # its worker's log lines of the run carry it
    }
    assert job["priority"] == 3
    assert job["attempts"] == 0


async def test_a_second_job_of_a_waiting_run_is_a_conflict_and_the_transaction_goes_on(
    sessions: Sessions, queue: str
) -> None:
    waiting, other, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        await enqueue(session, "optimization", waiting, queue)

    async with sessions() as session, session.begin():
        await enqueue(session, "optimization", other, queue)
        with pytest.raises(AlreadyQueued) as raised:
            await enqueue(session, "optimization", waiting, queue)
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        await enqueue(session, "optimization", third, queue)

    assert isinstance(raised.value, Conflict)
    assert raised.value.message == f"The optimization {waiting} is already queued"
    assert [
        len(await jobs_of(sessions, "optimization", run)) for run in (waiting, other, third)
    ] == [
        1,
        1,
        1,
    ]


async def test_a_second_job_in_the_same_transaction_is_a_conflict_too(
    sessions: Sessions, queue: str
) -> None:
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        first = await enqueue(session, "DAG run", run_id, queue)
        with pytest.raises(AlreadyQueued):
            await enqueue(session, "DAG run", run_id, queue)

    assert [job["id"] for job in await jobs_of(sessions, "DAG run", run_id)] == [first]


async def test_cancelling_a_waiting_job_cancels_it_on_commit(
    sessions: Sessions, queue: str
) -> None:
    run_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await enqueue(session, "execution", run_id, queue)

    async with sessions() as session, session.begin():
        assert await cancel(session, "execution", run_id)
        await session.rollback()
    assert [job["status"] for job in await jobs_of(sessions, "execution", run_id)] == ["todo"]

    async with sessions() as session, session.begin():
        assert await cancel(session, "execution", run_id)
    assert [job["status"] for job in await jobs_of(sessions, "execution", run_id)] == ["cancelled"]

    async with sessions() as session, session.begin():
        assert not await cancel(session, "execution", run_id)
        await enqueue(session, "execution", run_id, queue)  # the queueing lock is free again
    assert [job["status"] for job in await jobs_of(sessions, "execution", run_id)] == [
        "cancelled",
        "todo",
    ]


async def test_cancelling_a_run_without_a_job_says_so(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        assert not await cancel(session, "execution", uuid.uuid4())

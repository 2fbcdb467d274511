"""Several service processes on one database: each runs its own runs, and takes over only what
nobody runs any more — a process that stopped, died, or lost the database for longer than its
lease. Database blips on the way never leave a run unfinished."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from dspex_gql.executions.job import EXECUTIONS
from dspex_gql.executions.models import Execution, ExecutionStatus
from dspex_gql.executions.repository import ExecutionRepository
from dspex_gql.identity import Origin
from dspex_gql.orchestrator.processes import ServiceProcess, this_machine
from dspex_gql.runs import RunKey
from dspex_gql.runs.runs import CANCELLED_BY_USER
from dspex_gql.runtime import Runtime
from tests.support.app import make_settings, running, with_lease
from tests.support.factories import create_program, execute, get_execution, until_running
from tests.support.faults import TcpProxy
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    create_space,
    finished,
    finished_some,
    iterations,
    landscape_program,
    start,
    training_data,
)
from tests.support.outages import EACH_OUTAGE, Outage, until_a_run_tries_to_write
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket

EXECUTION_UPDATED = """subscription($id: ID!) {
  executionUpdated(id: $id) { id status sequence outputs error completedAt }
}"""
TWO_EXAMPLES = training_data(2)


def runtime(app: FastAPI) -> Runtime:
    found: Runtime = app.state.runtime
    return found


async def last_state(app: FastAPI, tenant: Tenant, execution_id: str) -> dict[str, Any]:
    """The execution's state once it has finished, as its subscribers see it."""
    async with Socket(app, tenant.admin_key) as socket:
        messages = await socket.subscribe(EXECUTION_UPDATED, {"id": execution_id})
    assert messages[-1]["type"] == "complete", messages
    state: dict[str, Any] = messages[-2]["payload"]["data"]["executionUpdated"]
    return state


class TestASecondReplica:
    async def test_leaves_the_runs_of_the_first_alone(self, database_url: str) -> None:
        """Before leases, its start-up failed every running execution of the first and resumed
        the first one's live optimization beside it."""
        settings = with_lease(make_settings(database_url), seconds=0.6)
        # renewed every second: a loop stalled for 0.6 s on a busy machine is not a dead process
        async with running(with_lease(settings, seconds=3)) as first:
            tenant = await new_tenant(first)
            async with GraphQLClient.for_app(first, tenant.admin_key) as client:
                space = await create_space(client)
                optimized = await landscape_program(client, space["id"], latency_ms=25)
                program = await create_program(client, configuration={"latency_ms": 5000})
                run = await start(client, optimized, maxIterations=40, trainingData=TWO_EXAMPLES)
                started = [await execute(client, program["id"]) for _ in range(5)]
                async with running(settings) as second:
                    beside = [await get_execution(client, e["id"]) for e in started]
                    swept = [await runtime(second).reclamation.sweep() for _ in range(3)]
                    ended = [await last_state(first, tenant, e["id"]) for e in started]
                    done = await finished(first, tenant.admin_key, run["id"])
                    stored = await iterations(client, run["id"])

        assert {e["status"] for e in beside} <= {"PENDING", "RUNNING"}
        assert swept == [0, 0, 0]
        assert [e["status"] for e in ended] == ["COMPLETED"] * 5
        assert all(e["outputs"] for e in ended)
        assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", 40)
        assert stored == list(range(40)), "each iteration once: one loop ran it"

    async def test_resumes_an_optimization_the_first_left_when_it_shut_down(
        self, database_url: str
    ) -> None:
        """A rolling restart: the first releases its lease as it stops, and the run continues
        on the second at its next sweep, not after a restart of the first."""
        settings = with_lease(make_settings(database_url), seconds=0.6)
        async with running(settings) as second:
            # a lease that cannot run out here: the run moves because the first released it
            async with running(with_lease(settings, seconds=3600)) as first:
                tenant = await new_tenant(first)
                async with GraphQLClient.for_app(first, tenant.admin_key) as client:
                    space = await create_space(client)
                    optimized = await landscape_program(client, space["id"], latency_ms=20)
                    run = await start(
                        client, optimized, maxIterations=40, trainingData=TWO_EXAMPLES
                    )
                    await finished_some(first, tenant.admin_key, run["id"], at_least=3)
            done = await finished(second, tenant.admin_key, run["id"])
            async with GraphQLClient.for_app(second, tenant.admin_key) as client:
                stored = await iterations(client, run["id"])

        assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", 40)
        assert stored == list(range(40))


class TestACancellationOnAnotherReplica:
    async def test_wins_over_a_write_of_the_run_made_after_it_was_read(
        self, database_url: str
    ) -> None:
        """The replica that cancels stores CANCELLED on the row in place; the run's own process may
        write a state between that replica's read and its write (the cancel used to be refused as
        "finished before it could be cancelled")."""
        settings = with_lease(make_settings(database_url), seconds=3600)
        async with running(settings) as first, running(settings) as second:
            tenant = await new_tenant(first)
            async with GraphQLClient.for_app(first, tenant.admin_key) as client:
                program = await create_program(client, configuration={"latency_ms": 60_000})
                execution = await execute(client, program["id"])
                await until_running(first, tenant.admin_key, execution["id"])
            id = uuid.UUID(execution["id"])
            read = await stored_execution(second, tenant, id)
            await a_state_written_by_its_process(first, id)
            actor = await runtime(second).authenticator.authenticate(
                f"Bearer {tenant.admin_key}", Origin()
            )
            await runtime(second).runs.cancel(
                runtime(second).uow, EXECUTIONS, read, CANCELLED_BY_USER, lambda _: None, by=actor
            )
            after = await stored_execution(second, tenant, id)

        assert after.status is ExecutionStatus.CANCELLED
        assert after.error == CANCELLED_BY_USER
        assert after.sequence == read.sequence + 2, "after the state written meanwhile"


async def stored_execution(app: FastAPI, tenant: Tenant, id: uuid.UUID) -> Execution:
    async with runtime(app).uow.read() as tx:
        found = await ExecutionRepository(tx.session, uuid.UUID(tenant.organization_id)).get(id)
    assert found is not None
    return found


async def a_state_written_by_its_process(app: FastAPI, id: uuid.UUID) -> None:
    async with runtime(app).uow() as tx:
        await tx.session.execute(
            update(Execution).where(Execution.id == id).values(sequence=Execution.sequence + 1)
        )


class TestAnEarlierLifeOfThisProcess:
    async def test_is_recognised_at_once(self, database_url: str) -> None:
        """A container restarted under the same pid: its previous life's lease has not run out,
        yet nothing of it is running."""
        settings = with_lease(make_settings(database_url), seconds=3600)
        async with running(settings) as app:
            tenant = await new_tenant(app)
            async with GraphQLClient.for_app(app, tenant.admin_key) as client:
                program = await create_program(client, configuration={"latency_ms": 60_000})
                execution = await execute(client, program["id"])
            await pretend_an_earlier_life_ran(app, execution["id"])
            await runtime(app).reclamation.sweep()
            async with GraphQLClient.for_app(app, tenant.admin_key) as client:
                after = await get_execution(client, execution["id"])

        assert after["status"] == "FAILED"
        assert after["error"] == "Interrupted: the service stopped before this execution finished"


async def pretend_an_earlier_life_ran(app: FastAPI, execution_id: str) -> None:
    """Hand the execution to a lease of this very pid that no live service holds."""
    earlier = uuid.uuid4()
    now = datetime.now(UTC)
    async with runtime(app).uow() as tx:
        tx.session.add(
            ServiceProcess(
                id=earlier,
                machine=this_machine(),
                pid=os.getpid(),
                started_at=now,
                renewed_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        await tx.session.execute(
            update(Execution)
            .where(Execution.id == uuid.UUID(execution_id))
            .values(process_id=earlier)
        )


@EACH_OUTAGE
async def test_a_final_write_that_finds_the_database_away_is_retried_until_it_is_stored(
    outage: Outage,
) -> None:
    async with running(outage.settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            program = await create_program(client, configuration={"latency_ms": 300})
            execution = await execute(client, program["id"])
            await until_running(app, tenant.admin_key, execution["id"])
            await until_a_run_tries_to_write(outage)
            ended = await last_state(app, tenant, execution["id"])
            stored = await get_execution(client, execution["id"])

    assert ended["status"] == stored["status"] == "COMPLETED"
    assert stored["outputs"] == ended["outputs"] != {}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
class TestADatabaseBlip:
    """A connection to cut needs a database server: on PostgreSQL only."""

    async def test_a_process_that_lost_the_database_for_longer_than_its_lease_is_replaced(
        self, database_url: str, database_proxy: TcpProxy
    ) -> None:
        """Its runs are taken over without a restart; what it writes once it is back is refused:
        no state from it lands over the new one, no iteration is stored twice."""
        settings = with_lease(make_settings(database_url), seconds=1.0)
        # 2 s: a loop stalled on a busy machine does not lose it before the cut
        cut_off = with_lease(
            settings, seconds=2.0, database_url=database_proxy.url_for(database_url)
        )
        async with running(cut_off) as lost, running(settings) as other:
            tenant = await new_tenant(lost)
            async with GraphQLClient.for_app(lost, tenant.admin_key) as client:
                program = await create_program(client, configuration={"latency_ms": 3000})
                execution = await execute(client, program["id"])
                space = await create_space(client)
                optimized = await landscape_program(client, space["id"], latency_ms=20)
                run = await start(client, optimized, maxIterations=60, trainingData=TWO_EXAMPLES)
                await finished_some(lost, tenant.admin_key, run["id"], at_least=3)
            database_proxy.cut()
            failed = await last_state(other, tenant, execution["id"])
            done = await finished(other, tenant.admin_key, run["id"])
            database_proxy.restore()
            key = RunKey("optimization", uuid.UUID(run["id"]))
            stopped = await runtime(lost).runs.wait(key, 30)
            async with GraphQLClient.for_app(other, tenant.admin_key) as client:
                after = await get_execution(client, execution["id"])
                stored = await iterations(client, run["id"])

        assert failed["status"] == after["status"] == "FAILED"
        assert after["error"] == "Interrupted: the service stopped before this execution finished"
        assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", 60)
        assert stopped, "the replaced process stops its copy of the loop"
        assert stored == list(range(60))

"""Two service processes on one database: a DAG run cancelled through the one that does not run
it ends at once, with its nodes and their executions, and the one running it writes nothing
over that when it stops."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from dspex_gql.config import ExecutionSettings
from dspex_gql.dags.models import DagRun
from dspex_gql.runtime import Runtime
from tests.dags.runs_support import (
    CANCEL_RUN,
    GET_RUN,
    active_dag,
    call,
    nodes_of,
    program,
    started,
    until_node_running,
)
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant


async def test_a_run_cancelled_through_another_replica_ends_with_its_nodes(
    database_url: str,
) -> None:
    settings = make_settings(database_url).model_copy(
        update={"execution": ExecutionSettings(shutdown_grace_seconds=0, lease_seconds=30)}
    )
    async with running(settings) as second:
        async with running(settings) as first:
            tenant = await new_tenant(first)
            async with GraphQLClient.for_app(first, tenant.admin_key) as on_first:
                held = await program(on_first, "question -> answer", latency_ms=600_000)
                after = await program(on_first, "answer -> verdict")
                dag_id = await active_dag(
                    on_first,
                    [
                        call("held", held, {"question": "$context.question"}),
                        call("after", after, {"answer": "$nodes.held.answer"}, "held"),
                    ],
                )
                run_id = await started(on_first, dag_id, {"question": "q"})
                await until_node_running(first, tenant.admin_key, run_id, "held")
                async with GraphQLClient.for_app(second, tenant.admin_key) as on_second:
                    cancelled = (await on_second.data(CANCEL_RUN, id=run_id))["cancelDagRun"]
        runtime: Runtime = second.state.runtime
        async with runtime.uow.read() as tx:
            stored = await tx.session.scalar(select(DagRun).where(DagRun.id == uuid.UUID(run_id)))
        async with GraphQLClient.for_app(second, tenant.admin_key) as on_second:
            afterwards = (await on_second.data(GET_RUN, id=run_id))["dagRun"]

    nodes = nodes_of(cancelled)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["error"] == "Cancelled by user"
    assert nodes["held"]["status"] == "CANCELLED"
    assert nodes["held"]["execution"]["status"] == "CANCELLED"
    assert nodes["after"]["status"] == "SKIPPED"
    assert stored is not None
    assert stored.sequence == cancelled["sequence"]
    assert {"__typename": "DagRun", **afterwards} == cancelled, (
        "the first replica's shutdown wrote nothing over it"
    )

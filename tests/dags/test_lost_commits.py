"""A DAG run's write whose commit reached the database, though its answer never came back: the
run writes the same rows again with its next attempt. The executions that write inserted must be
stored once, with the run carrying on, not refused as duplicates (`DagRunJob._store_progress`
inserts a call's row the first time, and upserts it from then on until a commit is confirmed)."""

from __future__ import annotations

from fastapi import FastAPI

from dspex_gql.runtime import Runtime
from tests.dags.runs_support import active_dag, call, finished, nodes_of, started
from tests.programs.helpers import STATS_QUERY
from tests.support.factories import create_program
from tests.support.faults import commit_answer_lost
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

EXECUTIONS = """query($id: ID!) { program(id: $id) {
    executions(first: 100) { totalCount nodes { id status outputs } } } }"""


async def test_executions_written_again_after_a_lost_commit_are_stored_once(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    """A progress write carries `first`'s execution while `second` runs (the write-behind window
    is 20 ms in tests): that write's answer is lost. `second` ends before the write is retried
    (50 ms later), so the run's final write carries `first`'s execution again."""
    program = await create_program(client)
    slow = await create_program(client, configuration={"latency_ms": 40})
    dag = await active_dag(
        client,
        [
            call("first", program["id"], {"question": "$context.q"}),
            call("second", slow["id"], {"question": "$nodes.first.answer"}, "first"),
        ],
    )
    runtime: Runtime = app.state.runtime

    with commit_answer_lost(runtime.engine, "executions") as lost:
        run = await finished(app, tenant.admin_key, await started(client, dag, {"q": "Why?"}))

    assert lost == [1]
    assert run["status"] == "SUCCESS", run
    nodes = nodes_of(run)
    history = (await client.data(EXECUTIONS, id=program["id"]))["program"]["executions"]
    assert history["totalCount"] == 1
    assert history["nodes"][0]["id"] == nodes["first"]["execution"]["id"]
    assert history["nodes"][0]["status"] == "COMPLETED"
    assert history["nodes"][0]["outputs"] == nodes["first"]["result"]
    stats = (await client.data(STATS_QUERY, id=program["id"]))["program"]["stats"]
    assert (stats["executionCount"], stats["completedCount"]) == (1, 1)
    assert nodes["second"]["status"] == "SUCCESS"

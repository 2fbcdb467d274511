"""Who sees DAG runs, and the organization's compute quota over the executions a run starts."""

from __future__ import annotations

from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import Settings
from tests.dags.runs_support import active_dag, call, finished, nodes_of, program, started
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant

RUNS = "{ dagRuns { totalCount nodes { id } } }"
RUN = "query($id: ID!) { dagRun(id: $id) { id nodeExecutions { nodeName } } }"


async def test_runs_are_seen_by_whoever_sees_their_dag(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer", visibility="ORGANIZATION")
    nodes = [call("a", answer, {"question": "$context.question"})]
    private = await active_dag(client, nodes)
    shared = await active_dag(client, nodes, visibility="ORGANIZATION")
    hidden = await started(client, private, {"question": "q"})
    seen = await started(client, shared, {"question": "q"})
    await finished(app, tenant.admin_key, hidden)
    await finished(app, tenant.admin_key, seen)
    user = await member(client, "USER")

    listed = (await user.client.data(RUNS))["dagRuns"]
    one = (await user.client.data(RUN, id=seen))["dagRun"]
    none = (await user.client.data(RUN, id=hidden))["dagRun"]

    assert listed == {"totalCount": 1, "nodes": [{"id": seen}]}
    assert one == {"id": seen, "nodeExecutions": [{"nodeName": "a"}]}
    assert none is None
    assert (await client.data(RUNS))["dagRuns"]["totalCount"] == 2, "admins see every run"


async def test_a_run_stops_calling_programs_once_the_quota_is_used(
    app: FastAPI, client: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    step = await program(client, "question -> answer", latency_ms=60)
    nodes = [call("s0", step, {"question": "$context.question"})]
    nodes += [
        call(f"s{i}", step, {"question": f"$nodes.s{i - 1}.answer"}, f"s{i - 1}")
        for i in range(1, 12)
    ]
    dag_id = await active_dag(client, nodes)
    await set_quota(settings, tenant.slug, 0.1)

    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    statuses = [node["status"] for node in done["nodeExecutions"]]
    refused = [n for n in nodes_of(done).values() if n["status"] == "FAILED"]
    assert done["status"] == "FAILED"
    assert statuses[0] == "SUCCESS"
    assert len(refused) == 1
    assert refused[0]["error"] == "The organization's compute quota is used up"
    assert statuses[-1] == "SKIPPED"
    usage = (await client.data("{ organization { computeUsedSeconds } }"))["organization"]
    assert usage["computeUsedSeconds"] >= 0.1

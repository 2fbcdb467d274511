"""Optimization runs across a restart, and watched live: progress and Pareto frontier."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import OptimizationSettings, Settings
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    PROGRESS,
    create_space,
    finished,
    landscape_program,
    start,
    training_data,
)
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket

EVALUATIONS = """query($id: ID!) { optimizationRun(id: $id) {
  status iterationsCompleted results
  evaluations(first: 1000) { totalCount nodes { id iteration configuration score createdAt } }
} }"""
FRONTIER = """subscription($id: ID!) {
  paretoFrontierUpdated(optimizationRunId: $id) { evaluationId configuration objectives }
}"""


async def run_state(client: GraphQLClient, run_id: str) -> dict[str, Any]:
    data = await client.data(EVALUATIONS, id=run_id)
    run: dict[str, Any] = data["optimizationRun"]
    return run


def progressed(iterations: int) -> Any:
    def enough(message: dict[str, Any]) -> bool:
        run = (message.get("payload", {}).get("data") or {}).get("optimizationProgress") or {}
        return bool(run.get("iterationsCompleted", 0) >= iterations)

    return enough


@pytest.mark.parametrize("strategy", ["RANDOM", "BAYESIAN", "SIMBA"])
async def test_a_run_stopped_by_a_restart_resumes_from_its_evaluations(
    database_url: str, strategy: str
) -> None:
    """Not from zero, no iteration twice; and for strategies whose proposals depend only on the
    seed and what was told (all but Optuna's, whose samplers are rebuilt from the evaluations),
    exactly the run an uninterrupted one would have been."""
    settings = make_settings(database_url)
    fields: dict[str, Any] = {"strategy": strategy, "maxIterations": 30, "concurrency": 1}
    fields |= {"seed": 11, "trainingData": training_data(3)}
    async with running(settings) as first:
        tenant = await new_tenant(first)
        async with GraphQLClient.for_app(first, tenant.admin_key) as client:
            space = await create_space(client)
            program_id = await landscape_program(client, space["id"], latency_ms=15)
            run = await start(client, program_id, **fields)
            async with Socket(first, tenant.admin_key) as socket:
                await socket.subscribe(PROGRESS, {"id": run["id"]}, until=progressed(5))
    async with (
        running(settings) as second,
        GraphQLClient.for_app(second, tenant.admin_key) as client,
    ):
        before = await run_state(client, run["id"])
        done = await finished(second, tenant.admin_key, run["id"])
        after = await run_state(client, run["id"])
        twin = await start(client, program_id, **fields)
        await finished(second, tenant.admin_key, twin["id"])
        uninterrupted = await run_state(client, twin["id"])

    kept = before["evaluations"]["nodes"]
    assert before["status"] == "RUNNING"
    assert 5 <= len(kept) < 30, before
    assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", 30)
    evaluations = after["evaluations"]["nodes"]
    assert [e["iteration"] for e in evaluations] == list(range(30))
    assert evaluations[: len(kept)] == kept, "the evaluations before the restart stay as they were"
    assert after["results"]["evaluations"] == 30
    configurations = [e["configuration"] for e in evaluations]
    twins = [e["configuration"] for e in uninterrupted["evaluations"]["nodes"]]
    assert configurations[: len(kept)] == twins[: len(kept)]
    if strategy != "BAYESIAN":
        assert configurations == twins


async def test_progress_comes_at_most_ten_times_a_second(database_url: str) -> None:
    settings = make_settings(
        database_url, optimization=OptimizationSettings(progress_messages_per_second=10)
    )
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            space = await create_space(client)
            program_id = await landscape_program(client, space["id"], latency_ms=1)
            run = await start(client, program_id, maxIterations=300, trainingData=training_data(2))
            async with Socket(app, tenant.admin_key) as socket:
                subscribed = time.monotonic()
                messages = await socket.subscribe(PROGRESS, {"id": run["id"]})
                seconds = time.monotonic() - subscribed
            final = await run_state(client, run["id"])

    runs = [m["payload"]["data"]["optimizationProgress"] for m in messages if m["type"] == "next"]
    assert messages[-1]["type"] == "complete"
    assert (runs[-1]["status"], runs[-1]["iterationsCompleted"]) == ("COMPLETED", 300)
    # the first message, then at most one per tenth of a second of the subscription
    assert len(runs) <= 1 + seconds * 10, (len(runs), seconds)
    assert len(runs) < final["evaluations"]["totalCount"], "progress is coalesced, not per step"
    iterations = [run["iterationsCompleted"] for run in runs]
    assert iterations == sorted(iterations)
    sequences = [run["sequence"] for run in runs]
    assert sequences == sorted(set(sequences)), "each message is newer than the last"


async def test_a_late_subscriber_gets_the_final_state_and_completes(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    space = await create_space(client)
    program_id = await landscape_program(client, space["id"])
    run = await start(client, program_id, maxIterations=3)
    first = await finished(app, tenant.admin_key, run["id"])
    async with Socket(app, tenant.admin_key) as socket:
        messages = await socket.subscribe(PROGRESS, {"id": run["id"]})
    assert [m["type"] for m in messages] == ["next", "complete"]
    assert messages[0]["payload"]["data"]["optimizationProgress"] == first


async def test_the_frontier_is_sent_when_it_changes_and_ends_with_the_run(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    space = await create_space(
        client,
        variables=[
            {"name": "temperature", "type": "FLOAT", "constraints": {"min": 0, "max": 1.5}},
            {"name": "latency_ms", "type": "INTEGER", "constraints": {"min": 0, "max": 4}},
        ],
    )
    program_id = await landscape_program(client, space["id"])
    objectives = [{"name": "SCORE"}, {"name": "LATENCY"}]
    run = await start(client, program_id, maxIterations=12, objectives=objectives)
    async with Socket(app, tenant.admin_key) as socket:
        messages = await socket.subscribe(FRONTIER, {"id": run["id"]})
    final = await client.data(
        "query($id: ID!) { optimizationRun(id: $id) { status paretoFrontier { evaluationId } } }",
        id=run["id"],
    )
    frontiers = [m["payload"]["data"]["paretoFrontierUpdated"] for m in messages[:-1]]
    assert messages[-1]["type"] == "complete"
    assert all(earlier != later for earlier, later in itertools.pairwise(frontiers))
    last_ids = {point["evaluationId"] for point in frontiers[-1]}
    assert last_ids == {p["evaluationId"] for p in final["optimizationRun"]["paretoFrontier"]}
    assert all(set(point["objectives"]) == {"SCORE", "LATENCY"} for point in frontiers[-1])


async def test_optimizations_wait_for_their_own_slots_and_never_hold_up_executions(
    database_url: str,
) -> None:
    settings = make_settings(database_url, optimization=OptimizationSettings(max_running=1))
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            space = await create_space(client)
            busy = await landscape_program(client, space["id"], latency_ms=60_000)
            queued = await landscape_program(client, space["id"])
            first = await start(client, busy, maxIterations=3)
            second = await start(client, queued, maxIterations=3)
            async with Socket(app, tenant.admin_key) as socket:
                await socket.subscribe(PROGRESS, {"id": first["id"]}, until=status_is("RUNNING"))
            executed = await client.data(
                """mutation($id: ID!) { executeProgram(input: {programId: $id,
                     inputs: {question: "still served?"}, wait: true}) {
                     ... on Execution { status } } }""",
                id=queued,
            )
            waiting = await run_state(client, second["id"])
            await client.data(
                "mutation($id: ID!) { cancelOptimization(id: $id) { __typename } }", id=first["id"]
            )
            done = await finished(app, tenant.admin_key, second["id"])

    assert executed["executeProgram"]["status"] == "COMPLETED"
    assert waiting["status"] == "PENDING", "one optimization at a time: the second waits"
    assert done["status"] == "COMPLETED"


def status_is(status: str) -> Any:
    def reached(message: dict[str, Any]) -> bool:
        run = (message.get("payload", {}).get("data") or {}).get("optimizationProgress") or {}
        return bool(run.get("status") == status)

    return reached


async def test_compute_is_counted_while_the_run_goes_on(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    usage = "{ organization { computeUsedSeconds } }"
    before = (await client.data(usage))["organization"]["computeUsedSeconds"]
    space = await create_space(client)
    program_id = await landscape_program(client, space["id"], latency_ms=20)
    run = await start(client, program_id, maxIterations=200, trainingData=training_data(2))
    async with Socket(app, tenant.admin_key) as socket:
        await socket.subscribe(PROGRESS, {"id": run["id"]}, until=progressed(2))
    during = (await client.data(usage))["organization"]["computeUsedSeconds"]
    state = await run_state(client, run["id"])
    await client.data(
        "mutation($id: ID!) { cancelOptimization(id: $id) { __typename } }", id=run["id"]
    )

    assert state["status"] == "RUNNING"
    assert during - before >= 2 * 0.020, "two evaluations of at least 20 ms are counted already"


async def test_a_run_stops_once_the_organization_has_used_its_quota(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, settings: Settings
) -> None:
    usage = "{ organization { computeUsedSeconds computeQuotaSeconds } }"
    space = await create_space(client)
    program_id = await landscape_program(client, space["id"], latency_ms=20)
    before = (await client.data(usage))["organization"]["computeUsedSeconds"]
    await set_quota(settings, tenant.slug, before + 0.1)

    run = await start(client, program_id, maxIterations=200, trainingData=training_data(2))
    done = await finished(app, tenant.admin_key, run["id"])
    after = (await client.data(usage))["organization"]

    assert done["status"] == "COMPLETED"
    assert done["results"]["stopReason"] == "compute_quota"
    assert done["iterationsCompleted"] < 200
    assert after["computeUsedSeconds"] >= after["computeQuotaSeconds"]

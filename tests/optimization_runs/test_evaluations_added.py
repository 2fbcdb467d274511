"""`evaluationsAdded`: every evaluation of a run, live — those stored so far, then each new batch,
at most `progress_messages_per_second` messages, until the run ends."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI

from dspex_gql.config import OptimizationSettings
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, finished, landscape_program, start
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket, payload_of

EVALUATIONS_ADDED = """subscription($id: ID!) {
  evaluationsAdded(optimizationRunId: $id) { id iteration configuration score cost status }
}"""
STORED = """query($id: ID!) { optimizationRun(id: $id) {
  evaluations(first: 1000) { nodes { id iteration configuration score cost status } } } }"""


async def stored_evaluations(client: GraphQLClient, run_id: str) -> list[dict[str, Any]]:
    data = await client.data(STORED, id=run_id)
    nodes: list[dict[str, Any]] = data["optimizationRun"]["evaluations"]["nodes"]
    return nodes


def batches(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    assert messages[-1]["type"] == "complete", messages[-1]
    return [m["payload"]["data"]["evaluationsAdded"] for m in messages if m["type"] == "next"]


async def new_run(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    space = await create_space(client)
    program_id = await landscape_program(client, space["id"], latency_ms=fields.pop("latency", 0))
    return await start(client, program_id, **fields)


class TestALiveRun:
    async def test_streams_each_evaluation_once_in_order_then_completes(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        run = await new_run(client, maxIterations=40, latency=5)

        async with Socket(app, tenant.admin_key) as socket:
            received = batches(await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]}))
        stored = await stored_evaluations(client, run["id"])

        streamed = [evaluation for batch in received for evaluation in batch]
        assert streamed == stored, "every evaluation, once, in order, as the store has it"
        assert [e["iteration"] for e in streamed] == list(range(40))
        assert all(received[1:]), "after the snapshot, only batches with something new"

    async def test_messages_come_at_most_at_the_progress_rate(self, database_url: str) -> None:
        settings = make_settings(
            database_url, optimization=OptimizationSettings(progress_messages_per_second=10)
        )
        async with running(settings) as app:
            tenant = await new_tenant(app)
            async with GraphQLClient.for_app(app, tenant.admin_key) as client:
                run = await new_run(client, maxIterations=300, trainingData=[_example()])
                async with Socket(app, tenant.admin_key) as socket:
                    subscribed = time.monotonic()
                    messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]})
                    seconds = time.monotonic() - subscribed

        received = batches(messages)
        assert sum(len(batch) for batch in received) == 300
        assert len(received) <= 1 + seconds * 10, (len(received), seconds)
        assert len(received) < 300, "evaluations come in batches, not one message each"


class TestALateSubscriber:
    async def test_gets_every_evaluation_in_one_message_and_completes(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        run = await new_run(client, maxIterations=12)
        assert (await finished(app, tenant.admin_key, run["id"]))["status"] == "COMPLETED"

        async with Socket(app, tenant.admin_key) as socket:
            messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]})

        assert [m["type"] for m in messages] == ["next", "complete"]
        assert batches(messages) == [await stored_evaluations(client, run["id"])]

    async def test_of_a_run_cancelled_before_any_evaluation_gets_an_empty_list(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        run = await new_run(client, maxIterations=5, latency=60_000)
        await client.data(
            "mutation($id: ID!) { cancelOptimization(id: $id) { __typename } }", id=run["id"]
        )

        async with Socket(app, tenant.admin_key) as socket:
            messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]})

        assert batches(messages) == [[]]


class TestRunsOneMayNotSee:
    async def test_an_unknown_or_malformed_id_is_not_found(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        for id in (str(uuid.uuid4()), "garbage"):
            async with Socket(app, tenant.admin_key) as socket:
                messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": id})
            assert _error_code(messages) == "NOT_FOUND", id

    async def test_another_organizations_run_does_not_exist(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        run = await new_run(client, maxIterations=3)
        stranger = await new_tenant(app)

        async with Socket(app, stranger.admin_key) as socket:
            messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]})

        assert _error_code(messages) == "NOT_FOUND"

    async def test_a_run_over_a_colleagues_private_program_does_not_exist(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        run = await new_run(client, maxIterations=3)
        colleague = await member(client, "USER")

        async with Socket(app, colleague.key) as socket:
            messages = await socket.subscribe(EVALUATIONS_ADDED, {"id": run["id"]})

        assert _error_code(messages) == "NOT_FOUND"


def _example() -> dict[str, Any]:
    return {"inputs": {"question": "q"}, "expected": {"answer": "a"}}


def _error_code(messages: list[dict[str, Any]]) -> str:
    code: str = payload_of(messages[0])["errors"][0]["extensions"]["code"]
    return code

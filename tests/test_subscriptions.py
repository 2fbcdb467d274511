"""Subscriptions over the real websocket protocols, on a real socket to the app as `dspex-gql serve`
serves it (`tests/support/app.served`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from dspex_gql.config import BroadcastSettings, Settings
from tests.support.app import make_settings
from tests.support.external_services import POSTGRES, REDIS, service_url
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant
from tests.support.websocket_client import Socket

EXECUTION_UPDATED = """subscription($id: ID!) {
  executionUpdated(id: $id) {
    id status sequence outputs error startedAt completedAt program { id }
  }
}"""
PROGRAM_EXECUTIONS = """subscription($id: ID!) {
  programExecutions(programId: $id) { id status sequence outputs }
}"""
SLOW = {"latency_ms": 60_000}


async def new_program(client: GraphQLClient, **configuration: Any) -> str:
    data = await client.data(
        """mutation($configuration: JSON!) { createProgram(input: {
             name: "watched", signatureSpec: "question -> answer", initialize: true,
             configuration: $configuration }) { ... on Program { id status } } }""",
        configuration=configuration,
    )
    assert data["createProgram"]["status"] == "READY"
    program_id: str = data["createProgram"]["id"]
    return program_id


async def execute(client: GraphQLClient, program_id: str, *, wait: bool = False) -> dict[str, Any]:
    data = await client.data(
        """mutation($id: ID!, $wait: Boolean!) { executeProgram(input: {
             programId: $id, inputs: {question: "Why?"}, wait: $wait }) {
             ... on Execution { id status sequence } } }""",
        id=program_id,
        wait=wait,
    )
    execution: dict[str, Any] = data["executeProgram"]
    return execution


async def cancel(client: GraphQLClient, execution_id: str) -> None:
    await client.data(
        "mutation($id: ID!) { cancelExecution(id: $id) { ... on Execution { status } } }",
        id=execution_id,
    )


class TestExecutionUpdated:
    async def test_yields_the_snapshot_then_changes_and_completes(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await execute(client, await new_program(client, **SLOW))

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(EXECUTION_UPDATED, {"id": execution["id"]})
            snapshot = (await socket.next_payload(operation))["data"]["executionUpdated"]
            await cancel(client, execution["id"])
            changes = [p["data"]["executionUpdated"] for p in await socket.results(operation)]

        assert snapshot["status"] in {"PENDING", "RUNNING"}
        assert snapshot["program"]["id"]
        assert changes[-1]["status"] == "CANCELLED"
        assert changes[-1]["error"] == "Cancelled by user"
        sequences = [snapshot["sequence"]] + [c["sequence"] for c in changes]
        assert sequences == sorted(set(sequences)), "each message is a newer state"

    async def test_a_completed_run_arrives_with_its_outputs(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await execute(client, await new_program(client, latency_ms=300))

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(EXECUTION_UPDATED, {"id": execution["id"]})
            states = [p["data"]["executionUpdated"] for p in await socket.results(operation)]

        assert states[-1]["status"] == "COMPLETED"
        assert set(states[-1]["outputs"]) == {"answer"}
        assert states[-1]["startedAt"] <= states[-1]["completedAt"]
        assert all(state["status"] != "COMPLETED" for state in states[:-1])

    async def test_a_late_subscriber_gets_the_final_state_and_completes(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await execute(client, await new_program(client), wait=True)
        assert execution["status"] == "COMPLETED"

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(EXECUTION_UPDATED, {"id": execution["id"]})
            states = [p["data"]["executionUpdated"] for p in await socket.results(operation)]

        assert [(s["status"], s["sequence"]) for s in states] == [
            ("COMPLETED", execution["sequence"])
        ]
        assert states[0]["outputs"]["answer"]

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "garbage"])
    async def test_an_unknown_execution_is_an_error(
        self, app: FastAPI, tenant: Tenant, id: str
    ) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(EXECUTION_UPDATED, {"id": id})
            payloads = await socket.results(operation)

        assert payloads[0]["errors"][0]["message"] == "Execution not found"
        assert payloads[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    async def test_several_subscriptions_share_one_connection(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        program_id = await new_program(client, **SLOW)
        first, second = await execute(client, program_id), await execute(client, program_id)

        async with Socket(app, tenant.admin_key) as socket:
            await socket.start(EXECUTION_UPDATED, {"id": first["id"]}, operation="a")
            await socket.start(EXECUTION_UPDATED, {"id": second["id"]}, operation="b")
            snapshots: set[str] = set()
            while len(snapshots) < 2:  # other changes may arrive between the two snapshots
                snapshots.add((await socket.receive())["id"])
            await cancel(client, first["id"])
            await cancel(client, second["id"])
            completed: set[str] = set()
            while len(completed) < 2:
                message = await socket.receive()
                if message["type"] == "complete":
                    completed.add(message["id"])

        assert snapshots == completed == {"a", "b"}


def an_execution_ended(payload: dict[str, Any]) -> bool:
    return payload["data"]["programExecutions"]["status"] not in {"PENDING", "RUNNING"}


class TestProgramExecutions:
    async def test_streams_every_execution_of_the_program(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        program_id = await new_program(client, latency_ms=50)
        unfinished = await execute(client, await new_program(client, **SLOW))  # never shown

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(PROGRAM_EXECUTIONS, {"id": program_id})
            one = await execute(client, program_id, wait=True)
            two = await execute(client, program_id, wait=True)
            seen: dict[str, list[str]] = {}
            while [seen.get(one["id"], [""])[-1], seen.get(two["id"], [""])[-1]] != [
                "COMPLETED"
            ] * 2:
                state = (await socket.next_payload(operation))["data"]["programExecutions"]
                seen.setdefault(state["id"], []).append(state["status"])

        assert set(seen) == {one["id"], two["id"]}
        assert unfinished["id"] not in seen
        for statuses in seen.values():
            assert statuses[0] in {"PENDING", "RUNNING", "COMPLETED"}

    async def test_starts_with_the_unfinished_executions(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        program_id = await new_program(client, **SLOW)
        running = await execute(client, program_id)
        await execute(client, await new_program(client), wait=True)  # finished, another program

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(PROGRAM_EXECUTIONS, {"id": program_id})
            snapshot = (await socket.next_payload(operation))["data"]["programExecutions"]
            await cancel(client, running["id"])
            ended = await socket.payload_where(operation, an_execution_ended)  # RUNNING may come
            cancelled = ended["data"]["programExecutions"]

        assert snapshot["id"] == running["id"]
        assert snapshot["status"] in {"PENDING", "RUNNING"}
        assert (cancelled["id"], cancelled["status"]) == (running["id"], "CANCELLED")

    async def test_an_unknown_program_is_an_error(self, app: FastAPI, tenant: Tenant) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(PROGRAM_EXECUTIONS, {"id": str(uuid.uuid4())})
            payloads = await socket.results(operation)

        assert payloads[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


class TestLegacyGraphqlWs:
    async def test_the_graphql_ws_protocol_works_too(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await execute(client, await new_program(client), wait=True)

        async with Socket(app, protocol="graphql-ws") as socket:
            init = {"authorization": f"Bearer {tenant.admin_key}"}
            await socket.send({"type": "connection_init", "payload": init})
            assert (await socket.receive())["type"] == "connection_ack"
            payload = {"query": EXECUTION_UPDATED, "variables": {"id": execution["id"]}}
            await socket.send({"id": "1", "type": "start", "payload": payload})
            data = await socket.receive()
            done = await socket.receive()

        assert data["type"] == "data"
        assert data["payload"]["data"]["executionUpdated"]["status"] == "COMPLETED"
        assert done == {"type": "complete", "id": "1"}


def listen_notify_url() -> str:
    server = make_url(service_url(POSTGRES, "PostgreSQL LISTEN/NOTIFY"))
    return server.set(drivername="postgres").render_as_string(hide_password=False)


class TestAcrossProcessesBackends:
    """The same subscription with events carried by Redis, then by PostgreSQL LISTEN/NOTIFY."""

    @pytest.fixture(params=["redis", "postgres"])
    def settings(self, request: pytest.FixtureRequest, database_url: str) -> Settings:
        url = service_url(REDIS, "Redis") if request.param == "redis" else listen_notify_url()
        return make_settings(database_url, broadcast=BroadcastSettings(url=url))

    async def test_changes_travel_through_the_backend(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await execute(client, await new_program(client, **SLOW))

        async with Socket(app, tenant.admin_key) as socket:
            operation = await socket.start(EXECUTION_UPDATED, {"id": execution["id"]})
            await socket.next_payload(operation)
            await cancel(client, execution["id"])
            final = (await socket.results(operation))[-1]["data"]["executionUpdated"]

        assert final["status"] == "CANCELLED"

"""Subscriptions over the real websocket protocols, through the ASGI app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient, WebSocketTestSession

from dspex_gql.app import create_app
from dspex_gql.config import BroadcastSettings, Settings
from tests.support.app import make_settings
from tests.support.external_services import POSTGRES, REDIS, service_url
from tests.support.tenants import new_tenant_in

EXECUTION_UPDATED = """subscription($id: ID!) {
  executionUpdated(id: $id) {
    id status sequence outputs error startedAt completedAt program { id }
  }
}"""
PROGRAM_EXECUTIONS = """subscription($id: ID!) {
  programExecutions(programId: $id) { id status sequence outputs }
}"""
SLOW = {"latency_ms": 60_000}


class Http:
    """Plain GraphQL over HTTP with the sync test client."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key
        self.authorization = f"Bearer {key}"

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        payload = {"query": query, "variables": variables}
        headers = {"authorization": self.authorization}
        body = self.client.post("/graphql", json=payload, headers=headers).json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def program(self, **configuration: Any) -> str:
        data = self.data(
            """mutation($configuration: JSON!) { createProgram(input: {
                 name: "watched", signatureSpec: "question -> answer", initialize: true,
                 configuration: $configuration }) { ... on Program { id status } } }""",
            configuration=configuration,
        )
        assert data["createProgram"]["status"] == "READY"
        program_id: str = data["createProgram"]["id"]
        return program_id

    def execute(self, program_id: str, *, wait: bool = False) -> dict[str, Any]:
        data = self.data(
            """mutation($id: ID!, $wait: Boolean!) { executeProgram(input: {
                 programId: $id, inputs: {question: "Why?"}, wait: $wait }) {
                 ... on Execution { id status sequence } } }""",
            id=program_id,
            wait=wait,
        )
        execution: dict[str, Any] = data["executeProgram"]
        return execution

    def cancel(self, execution_id: str) -> None:
        self.data(
            "mutation($id: ID!) { cancelExecution(id: $id) { ... on Execution { status } } }",
            id=execution_id,
        )


class TransportWs:
    """A graphql-transport-ws client: subscribe, then read until `complete`."""

    def __init__(self, socket: WebSocketTestSession, authorization: str) -> None:
        self.socket = socket
        socket.send_json({"type": "connection_init", "payload": {"authorization": authorization}})
        assert socket.receive_json()["type"] == "connection_ack"

    def subscribe(self, query: str, operation: str = "1", **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        self.socket.send_json({"id": operation, "type": "subscribe", "payload": payload})

    def next_payload(self) -> dict[str, Any]:
        message = self.socket.receive_json()
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    def until_complete(self) -> list[dict[str, Any]]:
        payloads = []
        while (message := self.socket.receive_json())["type"] != "complete":
            assert message["type"] == "next", message
            payloads.append(message["payload"])
        return payloads


@pytest.fixture
def http(settings: Settings) -> Iterator[Http]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield Http(client, new_tenant_in(client, app).admin_key)


def connect(http: Http, protocol: str = "graphql-transport-ws") -> Any:
    return http.client.websocket_connect("/graphql", subprotocols=[protocol])


class TestExecutionUpdated:
    def test_yields_the_snapshot_then_changes_and_completes(self, http: Http) -> None:
        execution = http.execute(http.program(**SLOW))

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, id=execution["id"])
            snapshot = ws.next_payload()["data"]["executionUpdated"]
            http.cancel(execution["id"])
            changes = [p["data"]["executionUpdated"] for p in ws.until_complete()]

        assert snapshot["status"] in {"PENDING", "RUNNING"}
        assert snapshot["program"]["id"]
        assert changes[-1]["status"] == "CANCELLED"
        assert changes[-1]["error"] == "Cancelled by user"
        sequences = [snapshot["sequence"]] + [c["sequence"] for c in changes]
        assert sequences == sorted(set(sequences)), "each message is a newer state"

    def test_a_completed_run_arrives_with_its_outputs(self, http: Http) -> None:
        execution = http.execute(http.program(latency_ms=300))

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, id=execution["id"])
            states = [p["data"]["executionUpdated"] for p in ws.until_complete()]

        assert states[-1]["status"] == "COMPLETED"
        assert set(states[-1]["outputs"]) == {"answer"}
        assert states[-1]["startedAt"] <= states[-1]["completedAt"]
        assert all(state["status"] != "COMPLETED" for state in states[:-1])

    def test_a_late_subscriber_gets_the_final_state_and_completes(self, http: Http) -> None:
        execution = http.execute(http.program(), wait=True)
        assert execution["status"] == "COMPLETED"

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, id=execution["id"])
            states = [p["data"]["executionUpdated"] for p in ws.until_complete()]

        assert [(s["status"], s["sequence"]) for s in states] == [
            ("COMPLETED", execution["sequence"])
        ]
        assert states[0]["outputs"]["answer"]

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "garbage"])
    def test_an_unknown_execution_is_an_error(self, http: Http, id: str) -> None:
        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, id=id)
            payloads = ws.until_complete()

        assert payloads[0]["errors"][0]["message"] == "Execution not found"
        assert payloads[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    def test_several_subscriptions_share_one_connection(self, http: Http) -> None:
        program_id = http.program(**SLOW)
        first, second = http.execute(program_id), http.execute(program_id)

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, operation="a", id=first["id"])
            ws.subscribe(EXECUTION_UPDATED, operation="b", id=second["id"])
            snapshots: set[str] = set()
            while len(snapshots) < 2:  # other changes may arrive between the two snapshots
                snapshots.add(socket.receive_json()["id"])
            http.cancel(first["id"])
            http.cancel(second["id"])
            completed: set[str] = set()
            while len(completed) < 2:
                message = socket.receive_json()
                if message["type"] == "complete":
                    completed.add(message["id"])

        assert snapshots == completed == {"a", "b"}


class TestProgramExecutions:
    def test_streams_every_execution_of_the_program(self, http: Http) -> None:
        program_id = http.program(latency_ms=50)
        unfinished = http.execute(http.program(**SLOW))  # another program: never shown

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(PROGRAM_EXECUTIONS, id=program_id)
            one = http.execute(program_id, wait=True)
            two = http.execute(program_id, wait=True)
            seen: dict[str, list[str]] = {}
            while [seen.get(one["id"], [""])[-1], seen.get(two["id"], [""])[-1]] != [
                "COMPLETED"
            ] * 2:
                state = ws.next_payload()["data"]["programExecutions"]
                seen.setdefault(state["id"], []).append(state["status"])

        assert set(seen) == {one["id"], two["id"]}
        assert unfinished["id"] not in seen
        for statuses in seen.values():
            assert statuses[0] in {"PENDING", "RUNNING", "COMPLETED"}

    def test_starts_with_the_unfinished_executions(self, http: Http) -> None:
        program_id = http.program(**SLOW)
        running = http.execute(program_id)
        http.execute(http.program(), wait=True)  # finished, on another program

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(PROGRAM_EXECUTIONS, id=program_id)
            snapshot = ws.next_payload()["data"]["programExecutions"]
            http.cancel(running["id"])
            cancelled = ws.next_payload()["data"]["programExecutions"]

        assert snapshot["id"] == running["id"]
        assert snapshot["status"] in {"PENDING", "RUNNING"}
        assert (cancelled["id"], cancelled["status"]) == (running["id"], "CANCELLED")

    def test_an_unknown_program_is_an_error(self, http: Http) -> None:
        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(PROGRAM_EXECUTIONS, id=str(uuid.uuid4()))
            payloads = ws.until_complete()

        assert payloads[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


class TestLegacyGraphqlWs:
    def test_the_graphql_ws_protocol_works_too(self, http: Http) -> None:
        execution = http.execute(http.program(), wait=True)

        with connect(http, "graphql-ws") as socket:
            init = {"authorization": http.authorization}
            socket.send_json({"type": "connection_init", "payload": init})
            assert socket.receive_json()["type"] == "connection_ack"
            payload = {"query": EXECUTION_UPDATED, "variables": {"id": execution["id"]}}
            socket.send_json({"id": "1", "type": "start", "payload": payload})
            data = socket.receive_json()
            done = socket.receive_json()

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

    def test_changes_travel_through_the_backend(self, http: Http) -> None:
        execution = http.execute(http.program(**SLOW))

        with connect(http) as socket:
            ws = TransportWs(socket, http.authorization)
            ws.subscribe(EXECUTION_UPDATED, id=execution["id"])
            ws.next_payload()
            http.cancel(execution["id"])
            final = ws.until_complete()[-1]["data"]["executionUpdated"]

        assert final["status"] == "CANCELLED"

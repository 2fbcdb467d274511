"""The service as an operator runs it: `dspex-gql serve` in a process, health, restarts, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from dspex_gql.app import create_app
from dspex_gql.config import DatabaseSettings, Settings
from tests.programs.helpers import STATS_QUERY
from tests.support.app import make_settings
from tests.support.databases import create_database, drop_database
from tests.support.external_services import POSTGRES, service_url
from tests.support.factories import create_program, execute, get_execution
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import LANDSCAPE, SPACE, finished, training_data
from tests.support.processes import STARTUP_SECONDS, Server, clean_env
from tests.support.tenants import new_tenant


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path, clean_env())
    yield started
    started.stop()


class TestServeWithNoConfiguration:
    async def test_starts_on_an_embedded_database_and_answers(
        self, server: Server, tmp_path: Path
    ) -> None:
        server.wait_ready()

        data = await server.graphql(
            """mutation { createProgram(input: {name: "hello", signatureSpec: "q -> a",
                 initialize: true}) { ... on Program { id status } } }"""
        )
        async with server.client(None) as client:
            alive = (await client.http.get("/healthz")).json()
            ide = await client.http.get("/graphql", headers={"accept": "text/html"})

        assert data["createProgram"]["status"] == "READY"
        assert (tmp_path / "dspex.db").exists()
        assert alive == {"status": "ok"}
        assert "graphiql" in ide.text.lower()


class TestSecureByDefault:
    async def test_the_first_start_prints_an_admin_key_once(self, tmp_path: Path) -> None:
        first = Server(tmp_path, clean_env())
        first.wait_ready()
        keys = first.printed_keys()
        me = await first.post("{ me { email role organization { slug } } }", keys[0])
        anonymous = await first.post("{ programs { totalCount } }", None)
        first.stop()
        again = Server(tmp_path, clean_env())
        again.wait_ready()
        again.stop()

        assert len(keys) == 1
        assert me["data"]["me"] == {
            "email": "admin@localhost",
            "role": "ADMIN",
            "organization": {"slug": "default"},
        }
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert anonymous["data"] is None
        assert again.printed_keys() == []
        assert keys[0] not in again.log.read_text()

    async def test_anonymous_development_access_needs_loopback(self, tmp_path: Path) -> None:
        env = clean_env(DSPEX_AUTH_DEV_ANONYMOUS_ADMIN="true")
        local = Server(tmp_path, env)
        local.wait_ready()
        answered = await local.post("{ me { role } }", None)
        local.stop()
        exposed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "dspex_gql", "serve", "--host", "0.0.0.0"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )

        assert answered["data"]["me"]["role"] == "ADMIN"
        assert exposed.returncode == 2
        assert "only allowed when the server binds to a loopback address" in exposed.stderr


class TestCrashRecovery:
    async def test_runs_a_dead_process_left_behind_become_failed(
        self, server: Server, tmp_path: Path
    ) -> None:
        server.wait_ready()
        program = (
            await server.graphql(
                """mutation { createProgram(input: {name: "slow", signatureSpec: "q -> a",
                 initialize: true, configuration: {latency_ms: 600000}}) {
                 ... on Program { id } } }"""
            )
        )["createProgram"]
        started = (
            await server.graphql(
                """mutation($id: ID!) { executeProgram(input: {programId: $id, inputs: {q: "x"}}) {
                 ... on Execution { id } } }""",
                id=program["id"],
            )
        )["executeProgram"]

        server.kill()

        url = f"sqlite+aiosqlite:///{tmp_path / 'dspex.db'}"
        app = create_app(make_settings(url))
        key = server.printed_keys()[0]
        async with app.router.lifespan_context(app), GraphQLClient.for_app(app, key) as client:
            after = await get_execution(client, started["id"])
            counted = (await client.data(STATS_QUERY, id=program["id"]))["program"]["stats"]
        assert after["status"] == "FAILED"
        assert after["error"] == "Interrupted: the service stopped before this execution finished"
        assert after["completedAt"] is not None
        assert (counted["executionCount"], counted["failedCount"]) == (1, 1)

    async def test_an_optimization_a_dead_process_left_behind_resumes(
        self, server: Server, tmp_path: Path
    ) -> None:
        server.wait_ready()
        space = (await server.graphql(CREATE_SPACE, variables=SPACE))["createVariableSpace"]
        program = (
            await server.graphql(
                LANDSCAPE_PROGRAM,
                configuration={"landscape": LANDSCAPE, "latency_ms": 20},
                space=space["id"],
            )
        )["createProgram"]
        run = (await server.graphql(START_RUN, program=program["id"], training=training_data(2)))[
            "startOptimization"
        ]
        before_the_crash = await wait_for_evaluations(server, run["id"], at_least=5)

        server.kill()

        url = f"sqlite+aiosqlite:///{tmp_path / 'dspex.db'}"
        app = create_app(make_settings(url))
        key = server.printed_keys()[0]
        async with app.router.lifespan_context(app), GraphQLClient.for_app(app, key) as client:
            done = await finished(app, key, run["id"])
            after = (await client.data(RUN_EVALUATIONS, id=run["id"]))["optimizationRun"]
        iterations = [e["iteration"] for e in after["evaluations"]["nodes"]]
        kept = {e["id"] for e in after["evaluations"]["nodes"]}
        assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", 20)
        assert iterations == list(range(20)), "no iteration twice, none missing"
        assert before_the_crash <= kept, "what was stored before the crash is kept, not redone"


class TestTwoProcessesOnOneDatabase:
    async def test_the_second_leaves_the_runs_of_the_first_alone(
        self, server: Server, tmp_path: Path
    ) -> None:
        """Its start-up used to fail every run the first one was running."""
        server.wait_ready()
        program = (
            await server.graphql(
                """mutation { createProgram(input: {name: "slow", signatureSpec: "q -> a",
                 initialize: true, configuration: {latency_ms: 20000}}) {
                 ... on Program { id } } }"""
            )
        )["createProgram"]
        started = [
            (await server.graphql(EXECUTE, id=program["id"]))["executeProgram"]["id"]
            for _ in range(3)
        ]
        second = Server(tmp_path, clean_env(), log="second.log")
        try:
            second.wait_ready()
            beside = [
                (await server.graphql(EXECUTION, id=id))["execution"]["status"] for id in started
            ]
            ended = [
                await wait_until_finished(second, server.printed_keys()[0], id) for id in started
            ]
        finally:
            second.stop()

        assert set(beside) <= {"PENDING", "RUNNING"}, "still running when the second started"
        assert [execution["status"] for execution in ended] == ["COMPLETED"] * 3
        assert all(execution["outputs"] for execution in ended)


EXECUTE = """mutation($id: ID!) { executeProgram(input: {programId: $id, inputs: {q: "x"}}) {
  ... on Execution { id } } }"""
EXECUTION = """query($id: ID!) { execution(id: $id) { status outputs } }"""


async def wait_until_finished(server: Server, key: str, execution_id: str) -> dict[str, Any]:
    """The execution once finished, read through `server` (another process runs it)."""
    deadline = time.monotonic() + 2 * STARTUP_SECONDS
    while time.monotonic() < deadline:
        body = await server.post(EXECUTION, key, id=execution_id)
        execution: dict[str, Any] = body["data"]["execution"]
        if execution["status"] not in {"PENDING", "RUNNING"}:
            return execution
        await asyncio.sleep(
            0.05
        )  # another process's progress: polled, there is no event to await here
    raise AssertionError(f"{execution_id} never finished:\n{server.log.read_text()}")


CREATE_SPACE = """mutation($variables: [VariableInput!]!) {
  createVariableSpace(input: {name: "crash", variables: $variables}) { ... on VariableSpace { id } }
}"""
LANDSCAPE_PROGRAM = """mutation($configuration: JSON!, $space: ID!) { createProgram(input: {
  name: "optimized", signatureSpec: "question -> answer", initialize: true,
  configuration: $configuration, variableSpaceId: $space }) { ... on Program { id status } } }"""
START_RUN = """mutation($program: ID!, $training: [JSON!]!) { startOptimization(input: {
  programId: $program, name: "crash", strategy: RANDOM, trainingData: $training,
  maxIterations: 20, seed: 5, concurrency: 1 }) { ... on OptimizationRun { id } } }"""
RUN_EVALUATIONS = """query($id: ID!) { optimizationRun(id: $id) {
  evaluations(first: 100) { nodes { id iteration } } } }"""


async def wait_for_evaluations(server: Server, run_id: str, at_least: int) -> set[str]:
    """The ids of the run's stored evaluations once there are `at_least` of them."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        data = await server.graphql(RUN_EVALUATIONS, id=run_id)
        nodes = data["optimizationRun"]["evaluations"]
        if len(nodes["nodes"]) >= at_least:
            return {node["id"] for node in nodes["nodes"]}
        await asyncio.sleep(
            0.02
        )  # another process's progress: polled, there is no event to await here
    raise AssertionError(f"fewer than {at_least} evaluations:\n{server.log.read_text()}")


class TestWebsocketMessageLimit:
    LIMIT = 65536

    @pytest.fixture
    def limited(self, tmp_path: Path) -> Iterator[Server]:
        started = Server(tmp_path, clean_env(DSPEX_SERVER_MAX_BODY_BYTES=str(self.LIMIT)))
        yield started
        started.stop()

    async def test_the_socket_layer_refuses_a_frame_over_the_body_limit_before_the_app(
        self, limited: Server
    ) -> None:
        """`serve`'s websocket layer refuses a 15 MB message as its frame arrives (the limit is
        the request body's), never buffering it for the app."""
        limited.wait_ready()
        init = {"type": "connection_init", "payload": {"authorization": limited.authorization}}
        query = """mutation($d: String!) { createSignature(input: {
            name: "huge", spec: "q -> a", description: $d }) { __typename } }"""
        huge = {"query": query, "variables": {"d": "x" * 15_000_000}}
        url = limited.websocket_url

        async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv()) == {"type": "connection_ack"}
            with pytest.raises(ConnectionClosed) as closed:  # noqa: PT012 (the send may see it)
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": huge}))
                await socket.recv()

        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        assert closed.value.rcvd.reason == f"Message too big: the limit is {self.LIMIT} bytes"
        count = await limited.graphql("{ signatures { totalCount } }")
        assert count["signatures"]["totalCount"] == 0


class TestWebsocketCompression:
    """Browsers offer permessage-deflate; `serve` accepts it only when told to."""

    @pytest.mark.parametrize(
        ("setting", "negotiated"),
        [(None, None), ("true", "permessage-deflate"), ("false", None)],
    )
    async def test_is_accepted_only_when_set(
        self, tmp_path: Path, setting: str | None, negotiated: str | None
    ) -> None:
        env = clean_env() if setting is None else clean_env(DSPEX_SERVER_WS_COMPRESSION=setting)
        server = Server(tmp_path, env)
        try:
            server.wait_ready()
            init = {"type": "connection_init", "payload": {"authorization": server.authorization}}
            async with connect(
                server.websocket_url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                compression="deflate",
            ) as socket:
                await socket.send(json.dumps(init))
                assert json.loads(await socket.recv()) == {"type": "connection_ack"}
                assert socket.response is not None
                extensions = socket.response.headers.get("Sec-WebSocket-Extensions")
        finally:
            server.stop()

        assert ((extensions or "").split(";")[0] or None) == negotiated


class TestCommandLine:
    def run(self, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dspex_gql", *args]
        return subprocess.run(
            command, cwd=cwd, env=clean_env(**env), capture_output=True, text=True
        )

    def test_migrate_up_and_down(self, tmp_path: Path) -> None:
        up = self.run("migrate", cwd=tmp_path)
        down = self.run("migrate", "base", "--downgrade", cwd=tmp_path)

        assert up.returncode == 0, up.stderr
        assert "database at revision" in up.stdout
        assert "revision None" in down.stdout

    def test_export_schema_writes_the_sdl(self, tmp_path: Path) -> None:
        result = self.run("export-schema", "-o", "schema.graphql", cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert "type Query" in (tmp_path / "schema.graphql").read_text()

    def test_bad_settings_are_reported_before_starting(self, tmp_path: Path) -> None:
        result = self.run("serve", cwd=tmp_path, DSPEX_EXECUTION_MAX_CONCURRENCY="zero")

        assert result.returncode != 0
        assert "max_concurrency" in result.stderr


class TestHealth:
    async def test_ready_when_database_and_pubsub_answer(self, client: GraphQLClient) -> None:
        response = await client.http.get("/readyz")

        assert response.status_code == 200
        assert response.json() == {"status": "ready", "database": "ok", "pubsub": "ok"}

    async def test_not_ready_when_the_database_is_gone(self) -> None:
        server_url = service_url(POSTGRES, "PostgreSQL")
        name = f"dspex_gone_{os.getpid()}_{time.monotonic_ns()}"
        url = await create_database(server_url, name)
        settings: Settings = make_settings(url, database=DatabaseSettings(url=url))
        app = create_app(settings)
        async with app.router.lifespan_context(app), GraphQLClient.for_app(app) as client:
            await drop_database(server_url, name)
            response = await client.http.get("/readyz")
            alive = await client.http.get("/healthz")

        assert response.status_code == 503
        assert response.json()["database"] == "down"
        assert alive.status_code == 200


async def test_a_program_survives_a_restart(settings: Settings) -> None:
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        key = (await new_tenant(first)).admin_key
        async with GraphQLClient.for_app(first, key) as client:
            program = await create_program(client)
            done = await execute(client, program["id"], wait=True)

    second = create_app(settings)
    async with second.router.lifespan_context(second), GraphQLClient.for_app(second, key) as client:
        again = await get_execution(client, done["id"])

    assert again == {field: value for field, value in done.items() if field != "__typename"}

"""The service as an operator runs it: `dspex-gql serve` in a process, health, restarts, crashes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from dspex_gql.app import create_app
from dspex_gql.config import DatabaseSettings, Settings
from tests.client import GraphQLClient
from tests.conftest import make_settings
from tests.databases import create_database, drop_database
from tests.factories import create_program, execute, get_execution
from tests.optimizing import LANDSCAPE, SPACE, finished, training_data
from tests.services import POSTGRES, service_url
from tests.tenants import new_tenant

STARTUP_SECONDS = 30
ADMIN_KEY_LINE = re.compile(r"^Admin API key: (dsx_\S+)$", re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`dspex-gql serve` in its own process and working directory."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        command = [sys.executable, "-m", "dspex_gql", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)  # polling a process that is starting; there is no event to await
        raise AssertionError(f"server not ready:\n{self.log.read_text()}")

    def printed_keys(self) -> list[str]:
        return ADMIN_KEY_LINE.findall(self.log.read_text())

    @property
    def authorization(self) -> str:
        """`Bearer <the admin key the first start printed>`."""
        return f"Bearer {self.printed_keys()[0]}"

    def post(self, query: str, key: str | None, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        payload = {"query": query, "variables": variables}
        body: dict[str, Any] = httpx.post(
            f"{self.url}/graphql", json=payload, headers=headers
        ).json()
        return body

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """As the admin whose key the first start printed."""
        body = self.post(query, self.printed_keys()[0], **variables)
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=STARTUP_SECONDS)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no DSPEX_* configuration at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSPEX_")}
    return env | extra


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path, clean_env())
    yield started
    started.stop()


class TestServeWithNoConfiguration:
    def test_starts_on_an_embedded_database_and_answers(
        self, server: Server, tmp_path: Path
    ) -> None:
        server.wait_ready()

        data = server.graphql(
            """mutation { createProgram(input: {name: "hello", signatureSpec: "q -> a",
                 initialize: true}) { ... on Program { id status } } }"""
        )
        alive = httpx.get(f"{server.url}/healthz").json()
        ide = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html"})

        assert data["createProgram"]["status"] == "READY"
        assert (tmp_path / "dspex.db").exists()
        assert alive == {"status": "ok"}
        assert "graphiql" in ide.text.lower()


class TestSecureByDefault:
    def test_the_first_start_prints_an_admin_key_once(self, tmp_path: Path) -> None:
        first = Server(tmp_path, clean_env())
        first.wait_ready()
        keys = first.printed_keys()
        me = first.post("{ me { email role organization { slug } } }", keys[0])
        anonymous = first.post("{ programs { totalCount } }", None)
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

    def test_anonymous_development_access_needs_loopback(self, tmp_path: Path) -> None:
        env = clean_env(DSPEX_AUTH_DEV_ANONYMOUS_ADMIN="true")
        local = Server(tmp_path, env)
        local.wait_ready()
        answered = local.post("{ me { role } }", None)
        local.stop()
        exposed = subprocess.run(
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
        program = server.graphql(
            """mutation { createProgram(input: {name: "slow", signatureSpec: "q -> a",
                 initialize: true, configuration: {latency_ms: 600000}}) {
                 ... on Program { id } } }"""
        )["createProgram"]
        started = server.graphql(
            """mutation($id: ID!) { executeProgram(input: {programId: $id, inputs: {q: "x"}}) {
                 ... on Execution { id } } }""",
            id=program["id"],
        )["executeProgram"]

        server.kill()

        url = f"sqlite+aiosqlite:///{tmp_path / 'dspex.db'}"
        app = create_app(make_settings(url))
        key = server.printed_keys()[0]
        async with app.router.lifespan_context(app), GraphQLClient.for_app(app, key) as client:
            after = await get_execution(client, started["id"])
        assert after["status"] == "FAILED"
        assert after["error"] == "Interrupted: the service stopped before this execution finished"
        assert after["completedAt"] is not None

    async def test_an_optimization_a_dead_process_left_behind_resumes(
        self, server: Server, tmp_path: Path
    ) -> None:
        server.wait_ready()
        space = server.graphql(CREATE_SPACE, variables=SPACE)["createVariableSpace"]
        program = server.graphql(
            LANDSCAPE_PROGRAM,
            configuration={"landscape": LANDSCAPE, "latency_ms": 20},
            space=space["id"],
        )["createProgram"]
        run = server.graphql(START_RUN, program=program["id"], training=training_data(2))[
            "startOptimization"
        ]
        before_the_crash = wait_for_evaluations(server, run["id"], at_least=5)

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


def wait_for_evaluations(server: Server, run_id: str, at_least: int) -> set[str]:
    """The ids of the run's stored evaluations once there are `at_least` of them."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        nodes = server.graphql(RUN_EVALUATIONS, id=run_id)["optimizationRun"]["evaluations"]
        if len(nodes["nodes"]) >= at_least:
            return {node["id"] for node in nodes["nodes"]}
        time.sleep(0.02)  # another process's progress: polled, there is no event to await here
    raise AssertionError(f"fewer than {at_least} evaluations:\n{server.log.read_text()}")


class TestWebsocketMessageLimit:
    LIMIT = 65536

    @pytest.fixture
    def limited(self, tmp_path: Path) -> Iterator[Server]:
        started = Server(tmp_path, clean_env(DSPEX_SERVER_MAX_BODY_BYTES=str(self.LIMIT)))
        yield started
        started.stop()

    def test_uvicorn_refuses_a_frame_over_the_body_limit_before_the_app(
        self, limited: Server
    ) -> None:
        """`serve` passes the limit to uvicorn (`ws_max_size`): a 15 MB message is refused by
        the websocket layer itself (its own close reason), never buffered for the app."""
        limited.wait_ready()
        init = {"type": "connection_init", "payload": {"authorization": limited.authorization}}
        query = """mutation($d: String!) { createSignature(input: {
            name: "huge", spec: "q -> a", description: $d }) { __typename } }"""
        huge = {"query": query, "variables": {"d": "x" * 15_000_000}}
        url = limited.url.replace("http://", "ws://") + "/graphql"

        with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
            socket.send(json.dumps(init))
            assert json.loads(socket.recv()) == {"type": "connection_ack"}
            with pytest.raises(ConnectionClosed) as closed:  # noqa: PT012 (the send may see it)
                socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": huge}))
                socket.recv()

        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        assert closed.value.rcvd.reason == f"frame exceeds limit of {self.LIMIT} bytes"
        assert limited.graphql("{ signatures { totalCount } }")["signatures"]["totalCount"] == 0


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

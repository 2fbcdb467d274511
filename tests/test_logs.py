"""Logs of `dspex-gql serve`, as an operator reads them: one format on one stream, each line a
request causes carrying its id (and so does each line of a run it starts)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.engine import make_url

from dspex_gql.config import LogSettings
from dspex_gql.db import migrations
from dspex_gql.observability import configure_logging, request_scope
from dspex_gql.observability.logs import HANDLER_NAME
from tests.support.databases import create_database, drop_database
from tests.support.external_services import POSTGRES, service_url
from tests.support.optimizations import LANDSCAPE, SPACE, training_data
from tests.support.processes import STARTUP_SECONDS, Server, clean_env

CREATE_PROGRAM = """mutation($input: CreateProgramInput!) {
  createProgram(input: $input) { ... on Program { id status } } }"""
EXECUTE = """mutation($input: ExecuteProgramInput!) {
  executeProgram(input: $input) { ... on Execution { id status } } }"""
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { ... on Execution { status } } }"
CREATE_SPACE = """mutation($variables: [VariableInput!]!) {
  createVariableSpace(input: {name: "space", variables: $variables}) { ... on VariableSpace { id } }
}"""
LANDSCAPE_PROGRAM = """mutation($configuration: JSON!, $space: ID!) { createProgram(input: {
  name: "optimized", signatureSpec: "question -> answer", initialize: true,
  configuration: $configuration, variableSpaceId: $space }) { ... on Program { id status } } }"""
START_RUN = """mutation($program: ID!, $training: [JSON!]!) { startOptimization(input: {
  programId: $program, name: "long", strategy: RANDOM, trainingData: $training,
  maxIterations: 20, seed: 5, concurrency: 1 }) { ... on OptimizationRun { id } } }"""
ADMIN_KEY_PREFIX = "Admin API key: "
SLOW = {"latency_ms": 60_000}


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[Server]:
    server = Server(tmp_path, clean_env(**env))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: each test reads the lines of its own requests."""
    with served(tmp_path_factory.mktemp("json"), DSPEX_LOG_FORMAT="json") as server:
        yield server


@pytest.fixture
def text_server(tmp_path: Path) -> Iterator[Server]:
    with served(tmp_path) as server:
        yield server


async def post(
    server: Server, query: str, request_id: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"authorization": server.authorization}
    if request_id is not None:
        headers["x-request-id"] = request_id
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"query": query, "variables": variables}
        response = await http.post("/graphql", json=body, headers=headers)
    assert "errors" not in response.json(), response.text
    return response


def json_lines(server: Server) -> list[dict[str, Any]]:
    """Every line the server wrote so far, parsed (its printed admin key aside). The lines of a
    request are written before its response is: the access line as the response starts, a run's
    lines before its task ends (which `wait` and a cancellation wait for)."""
    lines = server.log.read_text().splitlines()
    return [json.loads(line) for line in lines if not line.startswith(ADMIN_KEY_PREFIX)]


def of_request(lines: list[dict[str, Any]], request_id: str) -> list[str]:
    return [line["message"] for line in lines if line.get("request_id") == request_id]


class TestJsonLines:
    async def test_every_line_is_json_and_a_requests_lines_carry_its_id(
        self, json_server: Server
    ) -> None:
        response = await post(json_server, "{ me { email } }", "client-chosen.id_1")
        lines = json_lines(json_server)

        assert response.headers["x-request-id"] == "client-chosen.id_1"
        assert {"time", "level", "logger", "message"} <= lines[0].keys()
        [access] = of_request(lines, "client-chosen.id_1")
        assert '"POST /graphql HTTP/1.1" 200' in access
        assert "Application startup complete." in [line["message"] for line in lines]

    async def test_the_runs_a_request_starts_log_their_lives_with_its_id(
        self, json_server: Server
    ) -> None:
        created = await post(
            json_server, CREATE_PROGRAM, "create-1",
            input={"name": "p", "signatureSpec": "q -> a", "initialize": True},
        )  # fmt: skip
        program = created.json()["data"]["createProgram"]
        executed = await post(
            json_server, EXECUTE, "execute-1",
            input={"programId": program["id"], "inputs": {"q": "hi"}, "wait": True},
        )  # fmt: skip
        execution = executed.json()["data"]["executeProgram"]
        lines = json_lines(json_server)

        assert execution["status"] == "COMPLETED"
        run = f"execution:{execution['id']}"
        assert of_request(lines, "execute-1")[:2] == [f"{run} started", f"{run} finished completed"]
        finished = next(line for line in lines if line["message"] == f"{run} finished completed")
        assert finished["run"] == run
        assert finished["status"] == "completed"
        initialization = f"initialization:{program['id']}"
        assert f"{initialization} started" in of_request(lines, "create-1")

    async def test_a_cancelled_run_says_who_cancelled_it_and_why(self, json_server: Server) -> None:
        created = await post(
            json_server, CREATE_PROGRAM,
            input={"name": "slow", "signatureSpec": "q -> a", "configuration": SLOW,
                   "initialize": True},
        )  # fmt: skip
        program = created.json()["data"]["createProgram"]
        executed = await post(
            json_server, EXECUTE, "start-slow",
            input={"programId": program["id"], "inputs": {"q": "hi"}},
        )  # fmt: skip
        run = f"execution:{executed.json()['data']['executeProgram']['id']}"
        me = (await post(json_server, "{ me { id } }")).json()["data"]["me"]
        await post(json_server, CANCEL, "cancel-it", id=run.removeprefix("execution:"))
        lines = json_lines(json_server)

        assert f"{run} cancelled by user {me['id']}" in of_request(lines, "cancel-it")
        assert f"{run} finished cancelled: Cancelled by user" in of_request(lines, "start-slow")

    async def test_an_unusable_request_id_is_replaced_by_a_new_one(
        self, json_server: Server
    ) -> None:
        sent = "not ok: spaces and a colon"
        response = await post(json_server, "{ me { email } }", sent)
        given = response.headers["x-request-id"]
        lines = json_lines(json_server)

        assert given != sent
        assert len(of_request(lines, given)) == 1

    def test_no_alembic_lines_at_a_first_start_that_migrates(self, json_server: Server) -> None:
        lines = json_lines(json_server)

        assert not [line for line in lines if line["logger"].startswith("alembic")]
        assert not [line for line in lines if line["level"] not in ("INFO", "WARNING")]


class TestRestarts:
    async def test_a_run_the_service_stopped_in_says_so_and_then_that_it_resumed(
        self, tmp_path: Path
    ) -> None:
        env = {"DSPEX_LOG_FORMAT": "json", "DSPEX_EXECUTION_SHUTDOWN_GRACE_SECONDS": "0"}
        with served(tmp_path, **env) as first:
            space = await post(first, CREATE_SPACE, variables=SPACE)
            program = await post(
                first, LANDSCAPE_PROGRAM,
                configuration={"landscape": LANDSCAPE, "latency_ms": 60_000},
                space=space.json()["data"]["createVariableSpace"]["id"],
            )  # fmt: skip
            started = await post(
                first, START_RUN, "optimize-1",
                program=program.json()["data"]["createProgram"]["id"], training=training_data(2),
            )  # fmt: skip
            run = f"optimization:{started.json()['data']['startOptimization']['id']}"
            await logged(first, f"{run} started")
        stopped = json_lines(first)
        again = Server(tmp_path, clean_env(**env), log="again.log")
        try:
            again.wait_ready()
            await logged(again, f"{run} resumed after a restart")
        finally:
            again.stop()

        assert f"{run} started" in of_request(stopped, "optimize-1")
        assert f"{run} suspended for the next process to resume" in of_request(
            stopped, "optimize-1"
        )


async def logged(server: Server, message: str) -> None:
    """Once `server` has logged `message` (a line of a run's task, written when it gets to it)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while message not in [line["message"] for line in json_lines(server)]:
        assert time.monotonic() < deadline, server.log.read_text()
        await asyncio.sleep(0.02)  # another process's output: polled, no event to await


class TestQueuedRuns:
    async def test_a_run_a_worker_takes_carries_the_id_of_the_request_that_queued_it(
        self, tmp_path: Path
    ) -> None:
        server = service_url(POSTGRES, "PostgreSQL")
        url = await create_database(server, f"dspex_logs_{uuid.uuid4().hex[:10]}")
        try:
            await migrations.upgrade(url)
            env = {"DSPEX_LOG_FORMAT": "json", "DSPEX_JOBS": "procrastinate"}
            with served(tmp_path, DSPEX_DATABASE_URL=url, **env) as started:  # a worker inside
                created = await post(
                    started, CREATE_PROGRAM,
                    input={"name": "p", "signatureSpec": "q -> a", "initialize": True},
                )  # fmt: skip
                program = created.json()["data"]["createProgram"]
                executed = await post(
                    started, EXECUTE, "queued-1",
                    input={"programId": program["id"], "inputs": {"q": "hi"}, "wait": True},
                )  # fmt: skip
                lines = json_lines(started)
        finally:
            await drop_database(server, make_url(url).database or "")

        execution = executed.json()["data"]["executeProgram"]
        assert execution["status"] == "COMPLETED"
        run = f"execution:{execution['id']}"
        assert [f"{run} started", f"{run} finished completed"] == [
            message for message in of_request(lines, "queued-1") if message.startswith(run)
        ]


class TestTextLines:
    async def test_a_line_names_its_request(self, text_server: Server) -> None:
        await post(text_server, "{ me { email } }", "text-request-7")
        text_server.stop()
        log = text_server.log.read_text()

        [access] = [line for line in log.splitlines() if "[request text-request-7]" in line]
        assert " INFO uvicorn.access: " in access
        assert '"POST /graphql HTTP/1.1" 200 [request text-request-7]' in access


class TestInProcess:
    def test_a_second_configuration_replaces_the_first_and_leaves_other_handlers(self) -> None:
        root = logging.getLogger()
        level = root.level
        others = [h for h in root.handlers if h.get_name() != HANDLER_NAME]  # an earlier test's
        first = configure_logging(LogSettings())
        second = configure_logging(LogSettings(format="json"))
        written = io.StringIO()
        try:
            with contextlib.redirect_stderr(written), request_scope("in-process"):
                logging.getLogger("dspex_gql.test").warning("to stderr as it is now")
        finally:
            root.removeHandler(second)
            root.setLevel(level)

        assert first not in root.handlers
        assert root.handlers == others
        line = json.loads(written.getvalue())
        assert (line["message"], line["request_id"]) == ("to stderr as it is now", "in-process")


class TestSettings:
    def test_an_unknown_format_is_refused_clearly(self, tmp_path: Path) -> None:
        command = [sys.executable, "-m", "dspex_gql", "serve"]
        env = clean_env(DSPEX_LOG_FORMAT="xml")
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

        assert result.returncode == 2
        assert "DSPEX_LOG_FORMAT must be text or json, not 'xml'" in result.stderr

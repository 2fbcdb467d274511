"""API replicas and worker processes on one PostgreSQL database (`DSPEX_JOBS=procrastinate`), as
deployed: real `dspex-gql serve --no-worker` and `dspex-gql worker` processes on loopback, events
between them over Redis. Runs started on one replica run on a worker, are watched and cancelled
from the other; a worker killed outright, or stopped, has its runs finished by another."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dspex_gql.db import migrations
from tests.support.databases import create_database, drop_database
from tests.support.external_services import POSTGRES, REDIS, service_url
from tests.support.faults import TcpProxy
from tests.support.optimizations import LANDSCAPE, SPACE, training_data
from tests.support.processes import Server, Worker, clean_env, polled
from tests.support.websocket_client import Socket

LEASE_SECONDS = 1.5
"""A worker beats every 0.5 s; one silent for 1.5 s is dead and its jobs go to another."""

PROGRAM = """mutation($name: String!, $latency: Int!) { createProgram(input: {name: $name,
  signatureSpec: "question -> answer", initialize: true, configuration: {latency_ms: $latency}})
  { ... on Program { id status } } }"""
EXECUTE = """mutation($id: ID!, $wait: Boolean!) { executeProgram(input: {programId: $id,
  inputs: {question: "q"}, wait: $wait}) { ... on Execution { id status outputs } } }"""
EXECUTION = "query($id: ID!) { execution(id: $id) { id status error outputs } }"
CANCEL = """mutation($id: ID!) { cancelExecution(id: $id) {
  ... on Execution { status error } ... on Error { message } } }"""
EXECUTION_UPDATED = "subscription($id: ID!) { executionUpdated(id: $id) { status } }"
SPACE_MUTATION = """mutation($variables: [VariableInput!]!) {
  createVariableSpace(input: {name: "space", variables: $variables}) { ... on VariableSpace { id } }
}"""
LANDSCAPE_PROGRAM = """mutation($configuration: JSON!, $space: ID!) { createProgram(input: {
  name: "optimized", signatureSpec: "question -> answer", initialize: true,
  configuration: $configuration, variableSpaceId: $space }) { ... on Program { id status } } }"""
START_RUN = """mutation($program: ID!, $training: [JSON!]!, $iterations: Int!) {
  startOptimization(input: { programId: $program, name: "far", strategy: RANDOM,
  trainingData: $training, maxIterations: $iterations, seed: 5, concurrency: 1 }) {
  ... on OptimizationRun { id } } }"""
OPTIMIZATION = """query($id: ID!) { optimizationRun(id: $id) { id status iterationsCompleted
  evaluations(first: 100) { nodes { id iteration } } } }"""
DAG = """mutation($input: CreateDagInput!) { createDag(input: $input) { ... on Dag { id } } }"""
ACTIVATE = "mutation($id: ID!) { activateDag(id: $id) { ... on Dag { status } } }"
EXECUTE_DAG = """mutation($id: ID!) { executeDag(dagId: $id, context: {question: "q"}) {
  ... on DagRun { id } } }"""
DAG_RUN = "query($id: ID!) { dagRun(id: $id) { status succeededNodes } }"
CANCEL_OPTIMIZATION = """mutation($id: ID!) { cancelOptimization(id: $id) {
  ... on OptimizationRun { status } ... on Error { message } } }"""
CANCEL_DAG_RUN = """mutation($id: ID!) { cancelDagRun(id: $id) {
  ... on DagRun { status } ... on Error { message } } }"""
DAG_RUN_UPDATED = "subscription($id: ID!) { dagRunUpdated(id: $id) { status } }"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of this test's own: its workers take every queued job there is."""
    server = service_url(POSTGRES, "PostgreSQL")
    url = await create_database(server, f"dspex_deploy_{uuid.uuid4().hex[:10]}")
    await migrations.upgrade(url)
    yield url
    await drop_database(server, make_url(url).database or "")


@pytest.fixture
def env(database: str) -> dict[str, str]:
    return clean_env(
        DSPEX_DATABASE_URL=database,
        DSPEX_JOBS="procrastinate",
        DSPEX_BROADCAST_URL=service_url(REDIS, "Redis"),
        DSPEX_EXECUTION_LEASE_SECONDS=str(LEASE_SECONDS),
        DSPEX_EXECUTION_SHUTDOWN_GRACE_SECONDS="0.2",
    )


@pytest.fixture
def replicas(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    """Two API processes that run no jobs; the first bootstraps the organization."""
    first = Server(tmp_path, env, "api-a.log", ["--no-worker", "--no-migrate"])
    second: Server | None = None
    try:
        first.wait_ready()
        second = Server(tmp_path, env, "api-b.log", ["--no-worker", "--no-migrate"])
        second.wait_ready()
        yield first, second
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()


@pytest.fixture
def workers(tmp_path: Path, env: dict[str, str]) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    stopped = [stopped_when_told(worker) for worker in started]
    assert all(stopped), "every worker stops when told (SIGTERM)"


def stopped_when_told(worker: Worker) -> bool:
    """Stop it (killed if it does not stop in time); whether it stopped by itself."""
    try:
        worker.stop()
    except AssertionError:
        return False
    return True


def start_worker(tmp_path: Path, env: dict[str, str], workers: list[Worker]) -> Worker:
    worker = Worker(tmp_path, env, f"worker-{len(workers)}.log")
    workers.append(worker)
    worker.wait_ready()
    return worker


async def program(server: Server, latency_ms: int) -> str:
    created = await server.graphql(PROGRAM, name=f"p{latency_ms}", latency=latency_ms)
    assert created["createProgram"]["status"] == "READY", created
    return str(created["createProgram"]["id"])


async def optimization(server: Server, iterations: int) -> str:
    space = (await server.graphql(SPACE_MUTATION, variables=SPACE))["createVariableSpace"]
    configuration = {"landscape": LANDSCAPE, "latency_ms": 100}
    created = await server.graphql(
        LANDSCAPE_PROGRAM, configuration=configuration, space=space["id"]
    )
    run = await server.graphql(
        START_RUN,
        program=created["createProgram"]["id"],
        training=training_data(2),
        iterations=iterations,
    )
    return str(run["startOptimization"]["id"])


async def optimization_when(server: Server, key: str, run_id: str, done: Any) -> dict[str, Any]:
    return await polled(server, key, OPTIMIZATION, "optimizationRun", run_id, done)


def iterations_of(run: dict[str, Any]) -> list[int]:
    return sorted(node["iteration"] for node in run["evaluations"]["nodes"])


async def test_runs_started_on_one_replica_run_on_workers_and_answer_to_the_other(
    tmp_path: Path,
    env: dict[str, str],
    replicas: tuple[Server, Server],
    workers: list[Worker],
) -> None:
    a, b = replicas
    key = a.printed_keys()[0]
    for _ in range(2):
        start_worker(tmp_path, env, workers)
    quick, slow = await program(a, 20), await program(a, 60_000)

    waited = (await a.graphql(EXECUTE, id=quick, wait=True))["executeProgram"]
    started = (await a.graphql(EXECUTE, id=slow, wait=False))["executeProgram"]
    async with Socket(b.websocket_url, key) as socket:
        watching = await socket.start(EXECUTION_UPDATED, {"id": started["id"]})
        await socket.payload_where(
            watching, lambda p: p["data"]["executionUpdated"]["status"] == "RUNNING"
        )
        cancelled = (await b.post(CANCEL, key, id=started["id"]))["data"]["cancelExecution"]
        seen = await socket.results(watching)
    dag_run = await a_dag_run(a, quick)
    finished_dag = await polled(b, key, DAG_RUN, "dagRun", dag_run, ended)
    long_dag_run = await a_dag_run(a, slow)
    async with Socket(b.websocket_url, key) as socket:
        watching = await socket.start(DAG_RUN_UPDATED, {"id": long_dag_run})
        await socket.payload_where(
            watching, lambda p: p["data"]["dagRunUpdated"]["status"] == "RUNNING"
        )
        dag_cancelled = await b.post(CANCEL_DAG_RUN, key, id=long_dag_run)
        dag_seen = await socket.results(watching)
    run_id = await optimization(a, iterations=1000)
    await optimization_when(b, key, run_id, lambda r: r["iterationsCompleted"] >= 2)
    optimization_cancelled = await b.post(CANCEL_OPTIMIZATION, key, id=run_id)
    stopped = await optimization_when(b, key, run_id, ended)

    assert waited["status"] == "COMPLETED", "wait: true waits for a worker's run"
    assert waited["outputs"]["answer"]
    assert cancelled == {"status": "CANCELLED", "error": "Cancelled by user"}
    assert seen[-1]["data"]["executionUpdated"]["status"] == "CANCELLED"
    assert finished_dag == {"status": "SUCCESS", "succeededNodes": 3}
    assert dag_cancelled["data"]["cancelDagRun"] == {"status": "CANCELLED"}
    assert dag_seen[-1]["data"]["dagRunUpdated"]["status"] == "CANCELLED"
    assert optimization_cancelled["data"]["cancelOptimization"] == {"status": "CANCELLED"}
    assert stopped["status"] == "CANCELLED"
    logs = "".join(worker.log.read_text() for worker in workers)
    assert logs.count("ended with status: Aborted") == 3, "each worker's job stopped at its cancel"


async def a_dag_run(server: Server, program_id: str) -> str:
    first = {"name": "first", "programId": program_id, "inputs": {"question": "$context.question"}}
    then = [
        {
            "name": f"then{i}",
            "programId": program_id,
            "inputs": {"question": "$nodes.first.answer"},
            "dependencies": ["first"],
        }
        for i in range(2)
    ]
    definition = {"nodes": [first, *then]}
    name = f"fan-{uuid.uuid4().hex[:8]}"
    dag = await server.graphql(DAG, input={"name": name, "definition": definition})
    await server.graphql(ACTIVATE, id=dag["createDag"]["id"])
    run = await server.graphql(EXECUTE_DAG, id=dag["createDag"]["id"])
    return str(run["executeDag"]["id"])


def running(workers: list[Worker], run_id: str) -> tuple[Worker, Worker]:
    """The worker that took the run's job, and the other one."""
    first, second = workers
    return (first, second) if run_id in first.log.read_text() else (second, first)


@pytest.mark.parametrize("ending", ["killed", "stopped"])
async def test_a_workers_optimization_is_resumed_by_another_worker(
    tmp_path: Path,
    env: dict[str, str],
    replicas: tuple[Server, Server],
    workers: list[Worker],
    ending: str,
) -> None:
    """Killed outright (SIGKILL): another worker takes the job once the first has not beaten
    for a lease. Stopped (SIGTERM): the first hands it back at the end of its grace."""
    a, b = replicas
    key = a.printed_keys()[0]
    for _ in range(2):
        start_worker(tmp_path, env, workers)
    run_id = await optimization(a, iterations=40)
    before = await optimization_when(a, key, run_id, lambda r: r["iterationsCompleted"] >= 3)
    first, other = running(workers, run_id)

    status = first.kill() if ending == "killed" else first.stop()

    done = await optimization_when(b, key, run_id, lambda r: r["status"] == "COMPLETED")
    kept = {node["id"] for node in done["evaluations"]["nodes"]}
    assert iterations_of(done) == list(range(40)), "no iteration twice, none missing"
    assert {node["id"] for node in before["evaluations"]["nodes"]} <= kept
    assert run_id in other.log.read_text(), "the other worker finished it"
    assert status == (-signal.SIGKILL if ending == "killed" else 0), first.log.read_text()


async def test_a_run_whose_job_was_lost_is_queued_again(
    tmp_path: Path,
    env: dict[str, str],
    database: str,
    replicas: tuple[Server, Server],
    workers: list[Worker],
) -> None:
    """Runs left without a job (by the in-process mode, or a job deleted by hand) are found by
    a worker's sweep: nothing waits forever."""
    a, _ = replicas
    key = a.printed_keys()[0]
    started = (await a.graphql(EXECUTE, id=await program(a, 20), wait=False))["executeProgram"]
    await delete_jobs(database)

    start_worker(tmp_path, env, workers)

    done = await polled(a, key, EXECUTION, "execution", started["id"], ended)
    assert done["status"] == "COMPLETED", done
    assert "queued again 1 unfinished runs" in workers[0].log.read_text()


async def test_workers_come_back_after_the_database_was_out_of_reach(
    tmp_path: Path,
    env: dict[str, str],
    database: str,
    replicas: tuple[Server, Server],
    workers: list[Worker],
) -> None:
    """Their connections cut for longer than a lease: no restart needed, the optimization
    completes, no iteration lost or stored twice, and an execution queued meanwhile runs."""
    a, _ = replicas
    key = a.printed_keys()[0]
    target = urlsplit(database.replace("+asyncpg", ""))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        cut_off = Worker(
            tmp_path, env | {"DSPEX_DATABASE_URL": proxy.url_for(database)}, "worker-cut.log"
        )
        workers.append(cut_off)
        await cut_off.ready()
        run_id = await optimization(a, iterations=40)
        await optimization_when(a, key, run_id, lambda r: r["iterationsCompleted"] >= 3)

        proxy.cut()
        await proxy.refused.wait()  # the worker tried to reach the database, and could not
        queued = (await a.graphql(EXECUTE, id=await program(a, 20), wait=False))["executeProgram"]
        await asyncio.sleep(3 * LEASE_SECONDS)  # an outage is a span of time: there is no event
        proxy.restore()

        done = await optimization_when(a, key, run_id, lambda r: r["status"] == "COMPLETED")
        execution = await polled(a, key, EXECUTION, "execution", queued["id"], ended)
        restarted = cut_off.process.poll() is not None
        status = await asyncio.to_thread(cut_off.stop)  # through the proxy, still up

    assert not restarted, "the worker was not restarted"
    assert status == 0, cut_off.log.read_text()
    assert iterations_of(done) == list(range(40)), "no iteration twice, none missing"
    assert execution["status"] == "COMPLETED", execution


def ended(execution: dict[str, Any]) -> bool:
    return execution["status"] not in {"PENDING", "RUNNING"}


async def delete_jobs(database: str) -> None:
    engine = create_async_engine(database)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM procrastinate_jobs"))
    await engine.dispose()

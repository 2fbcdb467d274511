"""A DAG run whose database becomes unavailable while it runs: its nodes run on (the database is
off their path), what it could not write waits for the next write, and once the database is back
the run is stored whole — every node's final state, every execution once — and its progress is
published again. Each outage of `tests/support/outages.py`: on PostgreSQL a connection cut or gone
silent, on SQLite the file locked by another writer past the busy timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tests.dags.runs_support import (
    RUN_UPDATED,
    active_dag,
    call,
    finished,
    nodes_of,
    program,
    started,
    until_node_running,
)
from tests.programs.helpers import STATS_QUERY
from tests.support.app import running
from tests.support.http_client import GraphQLClient
from tests.support.outages import (
    EACH_OUTAGE,
    Outage,
    unavailable,
    until_a_run_tries_to_write,
)
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket

pytestmark = EACH_OUTAGE

NODES = 5
SHORT_MS = 300
"""How long the other nodes run: long enough for a node's end to be written and published while
the next one runs (the write-behind window is 20 ms in tests, a run's messages 10 a second)."""
LONG_MS = 1000
"""How long the long nodes run. The database becomes unavailable once the first one's RUNNING
state is stored, and the run touches the database again only when it ends; the database is back
before a second one ends (a silent one takes two timeouts to tell: the connection's check, then
a new connection)."""
HELD_MS = 600_000
"""A node that runs until it is cancelled."""
CANCEL = """mutation($id: ID!) { cancelDagRun(id: $id) {
    __typename ... on DagRun { status } ... on Error { message } } }"""
CANCELS = '{ auditLogs(filter: {action: {eq: "dag.cancel"}}) { nodes { resourceId } } }'
EXECUTIONS = """query($id: ID!) { program(id: $id) {
    executions(first: 100) { totalCount nodes { id status } } } }"""


@dataclass
class Blip:
    """A run of the chain n0 → … → n4 whose database becomes unavailable while its first long
    node runs."""

    app: FastAPI
    tenant: Tenant
    client: GraphQLClient
    programs: tuple[str, str]
    """The short program and the long one."""
    long_nodes: tuple[str, ...]
    run_id: str


@asynccontextmanager
async def running_until(
    outage: Outage, *long_nodes: str, long_ms: int = LONG_MS
) -> AsyncIterator[Blip]:
    """The run started, once its first long node's RUNNING state is stored."""
    async with running(outage.settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            short = await program(client, "question -> answer", latency_ms=SHORT_MS)
            long = await program(client, "question -> answer", latency_ms=long_ms)
            dag = await active_dag(client, chain(short, long, long_nodes))
            run_id = await started(client, dag, {"question": "Why?"})
            await until_node_running(app, tenant.admin_key, run_id, long_nodes[0])
            yield Blip(app, tenant, client, (short, long), long_nodes, run_id)


def chain(short: str, long: str, long_nodes: tuple[str, ...]) -> list[dict[str, object]]:
    """n0 → n1 → … → n4, each asking the previous one's answer; `long_nodes` run `long`."""
    return [
        call(
            f"n{i}",
            long if f"n{i}" in long_nodes else short,
            {"question": "$context.question" if i == 0 else f"$nodes.n{i - 1}.answer"},
            *([f"n{i - 1}"] if i else []),
        )
        for i in range(NODES)
    ]


async def test_progress_that_found_the_database_away_is_stored_and_published_once_it_is_back(
    outage: Outage,
) -> None:
    """n1's end (and more, when the database is silent) is the write refused; n3's start is
    written and published after the database is back, while n3 runs. A subscriber watches from
    before the outage to the end."""
    async with running_until(outage, "n1", "n3") as blip:
        async with Socket(blip.app, blip.tenant.admin_key) as socket:
            watching = await socket.start(RUN_UPDATED, {"id": blip.run_id})
            snapshot = run_in(await socket.next_payload(watching))
            await until_a_run_tries_to_write(outage)
            messages = [run_in(payload) for payload in await socket.results(watching)]
        await assert_stored_whole(blip, messages[-1])

    *changes, final = messages
    assert final["status"] == "SUCCESS"
    assert any(
        m["status"] == "RUNNING" and snapshot["finishedNodes"] < m["finishedNodes"] < NODES
        for m in changes
    ), f"no progress published between the outage and the end: {progress_of(messages)}"


def run_in(payload: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = payload["data"]["dagRunUpdated"]
    return run


async def test_a_final_state_that_found_the_database_away_is_stored_once_it_is_back(
    outage: Outage,
) -> None:
    """The last node is the long one: the run's final write is the one refused."""
    async with running_until(outage, f"n{NODES - 1}") as blip:
        await until_a_run_tries_to_write(outage)
        await assert_stored_whole(
            blip, await finished(blip.app, blip.tenant.admin_key, blip.run_id)
        )


async def test_a_cancel_asked_while_the_database_is_away_changes_nothing_until_it_is_back(
    outage: Outage,
) -> None:
    """Refused with a retryable error (on SQLite the run's row reads, the cancel's record does
    not write): the run goes on. Asked again once the database is back, it cancels the run, and
    the audit log has it once."""
    async with running_until(outage, "n1", long_ms=HELD_MS) as blip:
        async with unavailable(outage):
            refused = await blip.client.errors(CANCEL, id=blip.run_id)
        cancelled = (await blip.client.data(CANCEL, id=blip.run_id))["cancelDagRun"]
        run = await finished(blip.app, blip.tenant.admin_key, blip.run_id)
        audit = await blip.client.data(CANCELS)

    assert [e["extensions"]["code"] for e in refused] == ["SERVICE_UNAVAILABLE"], refused
    assert refused[0]["extensions"]["retryable"] is True
    assert cancelled == {"__typename": "DagRun", "status": "CANCELLED"}, "still running before"
    nodes = nodes_of(run)
    assert run["status"] == "CANCELLED"
    assert [n["status"] for n in nodes.values()] == ["SUCCESS", "CANCELLED"] + ["SKIPPED"] * 3
    assert nodes["n1"]["execution"]["status"] == "CANCELLED"
    assert audit["auditLogs"]["nodes"] == [{"resourceId": blip.run_id}]


def progress_of(messages: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(m["status"], m["sequence"], m["finishedNodes"]) for m in messages]


async def assert_stored_whole(blip: Blip, run: dict[str, Any]) -> None:
    """Every node succeeded once; each one's execution is stored once, and counted once."""
    nodes = nodes_of(run)
    assert run["status"] == "SUCCESS", run
    assert (run["finishedNodes"], run["succeededNodes"], run["successRate"]) == (NODES, NODES, 1)
    assert [(n["status"], n["attempts"]) for n in nodes.values()] == [("SUCCESS", 1)] * NODES
    stored = []
    counted = []
    for program_id in blip.programs:
        history = await blip.client.data(EXECUTIONS, id=program_id)
        stored += history["program"]["executions"]["nodes"]
        stats = (await blip.client.data(STATS_QUERY, id=program_id))["program"]["stats"]
        counted.append((stats["executionCount"], stats["completedCount"]))
    assert sorted(e["id"] for e in stored) == sorted(n["execution"]["id"] for n in nodes.values())
    assert {e["status"] for e in stored} == {"COMPLETED"}
    longs = len(blip.long_nodes)
    assert counted == [(NODES - longs, NODES - longs), (longs, longs)]

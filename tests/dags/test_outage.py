"""A DAG run whose database goes away while it runs: its nodes run on (the database is off their
path), what it could not write waits for the next write, and once the database is back the run is
stored whole — every node's final state, every execution once — and its progress is published
again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tests.dags.runs_support import (
    active_dag,
    call,
    finished,
    nodes_of,
    program,
    started,
    until_node_running,
    updates,
)
from tests.programs.helpers import STATS_QUERY
from tests.support.app import make_settings, running, with_lease
from tests.support.external_services import ON_POSTGRESQL
from tests.support.faults import TcpProxy
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant, new_tenant

pytestmark = ON_POSTGRESQL
"""A connection to cut needs a database server."""

NODES = 5
SHORT_MS = 300
"""How long the other nodes run: long enough for a node's end to be written and published while
the next one runs (the write-behind window is 20 ms in tests, a run's messages 10 a second)."""
LONG_MS = 1000
"""How long the long node runs: the connection is cut once its RUNNING state is stored, and the
run touches the database again only when it ends."""
EXECUTIONS = """query($id: ID!) { program(id: $id) {
    executions(first: 100) { totalCount nodes { id status } } } }"""


@dataclass
class Blip:
    """A run of the chain n0 → … → n4 whose database went away while `long_node` ran."""

    app: FastAPI
    tenant: Tenant
    client: GraphQLClient
    proxy: TcpProxy
    programs: tuple[str, str]
    """The short program and the long one."""
    run_id: str

    async def cut_until_refused(self) -> None:
        """Cut the connection, and restore it once the run has tried to write."""
        self.proxy.cut()
        await self.proxy.refused.wait()
        self.proxy.restore()


@asynccontextmanager
async def run_losing_its_database(
    database_url: str, proxy: TcpProxy, long_node: str
) -> AsyncIterator[Blip]:
    """The run started, once `long_node`'s RUNNING state is stored."""
    quiet = 300  # no lease renewal or sweep during the test: only the run uses the database
    settings = with_lease(make_settings(database_url), quiet, proxy.url_for(database_url))
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            short = await program(client, "question -> answer", latency_ms=SHORT_MS)
            long = await program(client, "question -> answer", latency_ms=LONG_MS)
            dag = await active_dag(client, chain(short, long, long_node))
            run_id = await started(client, dag, {"question": "Why?"})
            await until_node_running(app, tenant.admin_key, run_id, long_node)
            yield Blip(app, tenant, client, proxy, (short, long), run_id)


def chain(short: str, long: str, long_node: str) -> list[dict[str, object]]:
    """n0 → n1 → … → n4, each asking the previous one's answer; `long_node` runs `long`."""
    return [
        call(
            f"n{i}",
            long if f"n{i}" == long_node else short,
            {"question": "$context.question" if i == 0 else f"$nodes.n{i - 1}.answer"},
            *([f"n{i - 1}"] if i else []),
        )
        for i in range(NODES)
    ]


async def test_progress_that_found_the_database_away_is_stored_and_published_once_it_is_back(
    database_url: str, database_proxy: TcpProxy
) -> None:
    """n1's end and n2's start are the write refused; n2 to n4 run after the database is back."""
    async with run_losing_its_database(database_url, database_proxy, "n1") as blip:
        await blip.cut_until_refused()
        messages = await updates(blip.app, blip.tenant.admin_key, blip.run_id)
        await assert_stored_whole(blip, messages[-1])

    snapshot, *changes, final = messages
    assert final["status"] == "SUCCESS"
    assert any(
        m["status"] == "RUNNING" and snapshot["finishedNodes"] < m["finishedNodes"] < NODES
        for m in changes
    ), f"no progress published between the blip and the end: {messages}"


async def test_a_final_state_that_found_the_database_away_is_stored_once_it_is_back(
    database_url: str, database_proxy: TcpProxy
) -> None:
    """The last node is the long one: the run's final write is the one refused."""
    async with run_losing_its_database(database_url, database_proxy, f"n{NODES - 1}") as blip:
        await blip.cut_until_refused()
        await assert_stored_whole(
            blip, await finished(blip.app, blip.tenant.admin_key, blip.run_id)
        )


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
    assert counted == [(NODES - 1, NODES - 1), (1, 1)]

"""DAG runs watched live over the websocket: the state now first, then its changes, at most ten
messages a second whatever the node rate, completing once the run has ended."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi import FastAPI

from dspex_gql.config import DagSettings, ExecutionSettings
from tests.dags.runs_support import (
    NODES_UPDATED,
    RUN_UPDATED,
    active_dag,
    call,
    finished,
    program,
    started,
)
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket, payload_of


def chain_and_wide(answer: str, width: int, first: str | None = None) -> list[dict[str, Any]]:
    """A head node (running `first`, by default `answer`), `width` nodes after it, and a tail
    after them all."""
    head = call("head", first or answer, {"question": "$context.question"})
    wide = [call(f"w{i}", answer, {"question": "$nodes.head.answer"}, "head") for i in range(width)]
    tail = call("tail", answer, {"question": "$nodes.w0.answer"}, *[f"w{i}" for i in range(width)])
    return [head, *wide, tail]


def payloads(messages: list[dict[str, Any]], field: str) -> list[Any]:
    return [m["payload"]["data"][field] for m in messages if m["type"] == "next"]


async def test_a_run_is_watched_from_its_start_to_its_end(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer", latency_ms=5)
    slow = await program(client, "question -> answer", latency_ms=2000)  # outlasts a cold socket
    dag_id = await active_dag(client, chain_and_wide(answer, 8, first=slow))
    run_id = await started(client, dag_id, {"question": "q"})

    async with Socket(app, tenant.admin_key) as socket:
        run_messages = await socket.subscribe(RUN_UPDATED, {"id": run_id})
    async with Socket(app, tenant.admin_key) as socket:
        late = await socket.subscribe(NODES_UPDATED, {"id": run_id})

    runs = payloads(run_messages, "dagRunUpdated")
    assert run_messages[-1]["type"] == "complete"
    assert runs[0]["status"] in ("PENDING", "RUNNING")
    assert runs[-1]["status"] == "SUCCESS"
    assert runs[-1]["succeededNodes"] == 10
    sequences = [run["sequence"] for run in runs]
    assert sequences == sorted(set(sequences)), "each message is newer than the last"
    assert [m["type"] for m in late] == ["next", "complete"], "a late subscriber: the end"
    (final_nodes,) = payloads(late, "nodeExecutionUpdated")
    assert final_nodes == runs[-1]["nodeExecutions"]


async def test_node_messages_start_with_every_node_and_end_with_each_final_state(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer", latency_ms=5)
    dag_id = await active_dag(client, chain_and_wide(answer, 12))
    run_id = await started(client, dag_id, {"question": "q"})

    async with Socket(app, tenant.admin_key) as socket:
        messages = await socket.subscribe(NODES_UPDATED, {"id": run_id})
    final = await finished(app, tenant.admin_key, run_id)

    batches = payloads(messages, "nodeExecutionUpdated")
    assert messages[-1]["type"] == "complete"
    assert len(batches[0]) == 14, "the first message holds every node"
    latest: dict[str, dict[str, Any]] = {}
    for batch in batches:
        assert len({node["nodeName"] for node in batch}) == len(batch), "latest state once"
        latest |= {node["nodeName"]: node for node in batch}
    assert list(latest.values()) == final["nodeExecutions"]
    assert all(node["status"] == "SUCCESS" for node in latest.values())


async def test_messages_come_at_most_the_set_rate_whatever_the_node_rate(
    database_url: str,
) -> None:
    settings = make_settings(database_url, dag=DagSettings(progress_messages_per_second=5))
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            # Long enough that the first websocket of the process (0.5 s here, cold) still sees
            # most of it.
            answer = await program(client, "question -> answer", latency_ms=60)
            nodes = [call("head", answer, {"question": "$context.question"})]
            nodes += [
                call(f"n{i}", answer, {"question": f"$nodes.n{i - 1}.answer"}, f"n{i - 1}")
                for i in range(1, 40)
            ]
            nodes[1] = call("n1", answer, {"question": "$nodes.head.answer"}, "head")
            dag_id = await active_dag(client, nodes)
            run_id = await started(client, dag_id, {"question": "q"})
            arrivals: list[float] = []
            async with Socket(app, tenant.admin_key) as socket:
                operation = await socket.start(NODES_UPDATED, {"id": run_id})
                while (await socket.next_of(operation))["type"] == "next":
                    arrivals.append(time.monotonic())

    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 3, "a 40-node chain of 60 ms nodes takes more than 2 s"
    assert min(gaps) >= 0.19, gaps
    assert len(arrivals) < 40 * 2, "node changes coalesce"


async def test_the_run_starting_is_stored_at_once_not_after_the_write_behind_window(
    database_url: str,
) -> None:
    window = ExecutionSettings(progress_interval_ms=600_000, shutdown_grace_seconds=0)
    settings = make_settings(database_url).model_copy(update={"execution": window})
    async with running(settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            held = await program(client, "question -> answer", latency_ms=600_000)
            dag_id = await active_dag(client, [call("held", held, {"question": "$context.q"})])
            run_id = await started(client, dag_id, {"q": "q"})

            def running_now(message: dict[str, Any]) -> bool:
                return bool(payload_of(message)["data"]["dagRunUpdated"]["status"] == "RUNNING")

            async with Socket(app, tenant.admin_key) as socket:
                messages = await socket.subscribe(RUN_UPDATED, {"id": run_id}, until=running_now)
            stored = await client.data("query($id: ID!) { dagRun(id: $id) { status } }", id=run_id)

    assert running_now(messages[-1])
    assert stored["dagRun"]["status"] == "RUNNING"

"""DAG runs through the public API: a DAG defined and activated, a run started and watched."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.support.factories import create_program, errors, unique
from tests.support.http_client import GraphQLClient
from tests.support.websocket_client import Socket, payload_of

NODE = """
fragment NodeParts on NodeExecution {
  id nodeName status attempts retryCount inputs result error startedAt completedAt durationMs
  cost promptTokens completionTokens reusedFromId
  execution { id status program { id } }
  executions(first: 100) { totalCount nodes { id status inputs outputs error options } }
}
"""
RUN = (
    NODE
    + """
fragment RunParts on DagRun {
  id dagVersion status sequence context result error retryCount startedAt completedAt durationMs
  totalNodes finishedNodes succeededNodes failedNodes successRate averageNodeDurationMs
  cost promptTokens completionTokens createdAt
  retryOf { id } triggeredBy { id }
  nodeExecutions { ...NodeParts }
}
"""
)
EXECUTE = (
    RUN
    + "mutation($dagId: ID!, $context: JSON) { executeDag(dagId: $dagId, context: $context) {"
    + " __typename ...RunParts "
    + errors("ValidationError", "NotFoundError", "QuotaExceededError")
    + "} }"
)
RUN_UPDATED = RUN + "subscription($id: ID!) { dagRunUpdated(id: $id) { ...RunParts } }"
NODES_UPDATED = (
    NODE + "subscription($id: ID!) { nodeExecutionUpdated(dagRunId: $id) { ...NodeParts } }"
)
GET_RUN = RUN + "query($id: ID!) { dagRun(id: $id) { ...RunParts } }"
CANCEL_RUN = RUN + "mutation($id: ID!) { cancelDagRun(id: $id) { __typename ...RunParts } }"


async def program(client: GraphQLClient, spec: str, **configuration: Any) -> str:
    """A READY mock program of `spec`, its id."""
    created = await create_program(client, signatureSpec=spec, configuration=configuration)
    return str(created["id"])


async def active_dag(client: GraphQLClient, nodes: list[dict[str, Any]], **fields: Any) -> str:
    """A DAG of `nodes` (and `fields`), created and activated: its id."""
    data = await client.data(
        """mutation($input: CreateDagInput!) { createDag(input: $input) {
             __typename ... on Dag { id } """
        + errors("ValidationError")
        + "} }",
        input={"name": unique("dag"), "definition": {"nodes": nodes}} | fields,
    )
    assert data["createDag"]["__typename"] == "Dag", data
    dag_id = str(data["createDag"]["id"])
    activated = await client.data(
        "mutation($id: ID!) { activateDag(id: $id) { __typename ... on Dag { status } } }",
        id=dag_id,
    )
    assert activated["activateDag"]["status"] == "ACTIVE", activated
    return dag_id


async def two_in_a_row(client: GraphQLClient) -> str:
    """An ACTIVE DAG of two nodes of one `question -> answer` program, `first` → `second`: its
    id."""
    answer = await program(client, "question -> answer")
    return await active_dag(
        client,
        [
            call("first", answer, {"question": "$context.question"}),
            call("second", answer, {"question": "$nodes.first.answer"}, "first"),
        ],
    )


async def execute_dag(
    client: GraphQLClient, dag_id: str, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`executeDag`'s result, whatever its type."""
    data = await client.data(EXECUTE, dagId=dag_id, context=context)
    result: dict[str, Any] = data["executeDag"]
    return result


async def started(client: GraphQLClient, dag_id: str, context: dict[str, Any]) -> str:
    run = await execute_dag(client, dag_id, context)
    assert run["__typename"] == "DagRun", run
    return str(run["id"])


async def updates(app: FastAPI, key: str, run_id: str) -> list[dict[str, Any]]:
    """Every `dagRunUpdated` message of the run, to its end."""
    async with Socket(app, key) as socket:
        messages = await socket.subscribe(RUN_UPDATED, {"id": run_id})
    return [m["payload"]["data"]["dagRunUpdated"] for m in messages if m["type"] == "next"]


async def finished(app: FastAPI, key: str, run_id: str) -> dict[str, Any]:
    """The run once it has ended (its subscription completes then)."""
    final = (await updates(app, key, run_id))[-1]
    assert final["status"] not in ("PENDING", "RUNNING"), final
    return final


def nodes_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["nodeName"]: node for node in run["nodeExecutions"]}


def call(
    name: str, program_id: str, inputs: dict[str, str], *deps: str, **extra: Any
) -> dict[str, Any]:
    """A PROGRAM node."""
    return {
        "name": name,
        "programId": program_id,
        "inputs": inputs,
        "dependencies": list(deps),
    } | extra


async def until_node_running(app: FastAPI, key: str, run_id: str, name: str) -> None:
    """Wait until the node's RUNNING state is stored (its message comes after the write)."""

    def running(message: dict[str, Any]) -> bool:
        nodes = (payload_of(message).get("data") or {}).get("nodeExecutionUpdated") or []
        return any(n["nodeName"] == name and n["status"] == "RUNNING" for n in nodes)

    async with Socket(app, key) as socket:
        await socket.subscribe(NODES_UPDATED, {"id": run_id}, until=running)

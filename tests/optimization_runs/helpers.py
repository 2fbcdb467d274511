"""What the modules of tests/optimization_runs/ share: queries, spaces and run helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI

from tests.support.factories import PROGRAM, create_program, errors, unique
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import OPTIMUM, RUN, finished, start

Node = dict[str, Any]

OPTIONS: dict[str, Node] = {
    "RANDOM": {},
    "GRID_SEARCH": {},
    "BAYESIAN": {"startupTrials": 4},
    "EVOLUTIONARY": {"populationSize": 4},
    "SIMBA": {"batchSize": 4, "candidatesPerStep": 3},
}

EVALUATION = """
fragment EvaluationParts on Evaluation {
  id iteration configuration score cost latencyMs metrics status examples exampleScores createdAt
}
"""
GET_RUN = (
    RUN
    + EVALUATION
    + """query($id: ID!) { optimizationRun(id: $id) { ...RunParts
         evaluations(first: 200) { totalCount nodes { ...EvaluationParts } } } }"""
)
CANCEL = (
    RUN
    + "mutation($id: ID!) { cancelOptimization(id: $id) { __typename ...RunParts "
    + errors("NotFoundError")
    + "} }"
)
APPLY = (
    PROGRAM
    + "mutation($id: ID!) { applyBestConfiguration(optimizationRunId: $id) {"
    + " __typename ...ProgramParts "
    + errors("NotFoundError")
    + "} }"
)
PROGRAM_STATE = """query($id: ID!) { program(id: $id) {
  status configuration version
  stats { bestScore averageScore optimizationCount }
  optimizationRuns(first: 50) { totalCount nodes { id status bestScore } } } }"""

RUNS = """query($filter: OptimizationRunFilter, $orderBy: [OptimizationRunOrder!],
  $first: Int! = 50, $after: String) {
  optimizationRuns(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id status bestScore } } }"""

AUDIT = """query($filter: AuditLogFilter) { auditLogs(filter: $filter, first: 100) {
  totalCount nodes { action resourceType resourceId actor { id } changes } } }"""

ALWAYS_RIGHT = {"kind": "distance", "optimum": {"unknown": 1}, "width": 1000}
"""A flat landscape: every example is answered right, whatever the configuration."""


async def get_run(client: GraphQLClient, run_id: str) -> Node:
    run: Node = (await client.data(GET_RUN, id=run_id))["optimizationRun"]
    assert run is not None
    return run


async def completed(
    app: FastAPI, client: GraphQLClient, credential: str, program_id: str, **fields: Any
) -> Node:
    """Start a run, await its end and return it with its evaluations."""
    run = await start(client, program_id, **fields)
    assert run["__typename"] == "OptimizationRun", run
    await finished(app, credential, run["id"])
    return await get_run(client, run["id"])


async def program_state(client: GraphQLClient, program_id: str) -> Node:
    program: Node = (await client.data(PROGRAM_STATE, id=program_id))["program"]
    return program


async def cancel(client: GraphQLClient, run_id: str) -> Node:
    result: Node = (await client.data(CANCEL, id=run_id))["cancelOptimization"]
    return result


async def apply_best(client: GraphQLClient, run_id: str) -> Node:
    result: Node = (await client.data(APPLY, id=run_id))["applyBestConfiguration"]
    return result


async def audit_rows(client: GraphQLClient, action: str) -> list[Node]:
    data = await client.data(AUDIT, filter={"action": {"eq": action}})
    rows: list[Node] = data["auditLogs"]["nodes"]
    return rows


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def configurations(run: Node) -> list[Node]:
    return [evaluation["configuration"] for evaluation in run["evaluations"]["nodes"]]


async def visible_program(client: GraphQLClient, space_id: str, **config: Any) -> str:
    """A READY landscape program every member of the organization can read."""
    program = await create_program(
        client,
        name=unique("shared"),
        configuration={"landscape": {"kind": "distance", "optimum": OPTIMUM}} | config,
        variableSpaceId=space_id,
        visibility="ORGANIZATION",
    )
    program_id: str = program["id"]
    return program_id

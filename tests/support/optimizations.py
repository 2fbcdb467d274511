"""Set-up for optimization tests through the public API: a space, a READY program over it with a
simulated quality landscape, training data, and a run started and watched to its end."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.support.factories import errors, unique
from tests.support.http_client import GraphQLClient
from tests.support.websocket_client import Socket

SPACE = [
    {"name": "temperature", "type": "FLOAT", "constraints": {"min": 0.0, "max": 1.5}},
    {"name": "model", "type": "CHOICE", "constraints": {"choices": ["small", "large"]}},
]
OPTIMUM = {"temperature": 0.7, "model": "large"}
LANDSCAPE = {"kind": "distance", "optimum": OPTIMUM, "width": 0.6}

RUN = """
fragment RunParts on OptimizationRun {
  id name strategy status sequence metric maxIterations iterationsCompleted bestScore
  bestConfiguration convergenceScore convergenceStatus progressPercentage durationSeconds
  estimatedCompletion evaluationCount averageScore results error seed totalCost
  startedAt completedAt createdAt
  objectives { name direction }
  paretoFrontier { evaluationId configuration objectives }
  program { id status } variableSpace { id }
}
"""
START = (
    RUN
    + "mutation($input: StartOptimizationInput!) { startOptimization(input: $input) {"
    + " __typename ...RunParts "
    + errors("ValidationError", "NotFoundError", "QuotaExceededError")
    + "} }"
)
PROGRESS = RUN + "subscription($id: ID!) { optimizationProgress(id: $id) { ...RunParts } }"
EVALUATIONS = """query($id: ID!) { optimizationRun(id: $id) {
  status iterationsCompleted evaluations(first: 1000) { nodes { iteration } }
} }"""


def training_data(count: int = 12) -> list[dict[str, Any]]:
    return [
        {"inputs": {"question": f"question {i}"}, "expected": {"answer": f"answer {i}"}}
        for i in range(count)
    ]


async def create_space(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"name": unique("space"), "variables": SPACE} | fields
    data = await client.data(
        """mutation($input: CreateVariableSpaceInput!) { createVariableSpace(input: $input) {
             __typename ... on VariableSpace { id name variableCount }
             """
        + errors("ValidationError")
        + "} }",
        input=given,
    )
    result: dict[str, Any] = data["createVariableSpace"]
    assert result["__typename"] == "VariableSpace", result
    return result


async def landscape_program(
    client: GraphQLClient, space_id: str, landscape: dict[str, Any] | None = None, **config: Any
) -> str:
    configuration = {"landscape": landscape or LANDSCAPE} | config
    data = await client.data(
        """mutation($input: CreateProgramInput!) { createProgram(input: $input) {
             __typename ... on Program { id status } } }""",
        input={
            "name": unique("optimized"),
            "signatureSpec": "question -> answer",
            "initialize": True,
            "configuration": configuration,
            "variableSpaceId": space_id,
        },
    )
    program = data["createProgram"]
    assert program["status"] == "READY", program
    program_id: str = program["id"]
    return program_id


async def start(client: GraphQLClient, program_id: str, **fields: Any) -> dict[str, Any]:
    given = {
        "programId": program_id,
        "name": unique("run"),
        "strategy": "RANDOM",
        "trainingData": training_data(),
        "maxIterations": 10,
        "seed": 7,
    } | fields
    data = await client.data(START, input=given)
    result: dict[str, Any] = data["startOptimization"]
    return result


async def watch(app: FastAPI, credential: str, run_id: str) -> list[dict[str, Any]]:
    """Every progress message of the run until the subscription completes."""
    async with Socket(app, credential) as socket:
        messages = await socket.subscribe(PROGRESS, {"id": run_id})
    assert messages[-1]["type"] == "complete", messages[-1]
    return [m["payload"]["data"]["optimizationProgress"] for m in messages if m["type"] == "next"]


async def finished(app: FastAPI, credential: str, run_id: str) -> dict[str, Any]:
    return (await watch(app, credential, run_id))[-1]


async def finished_some(app: FastAPI, credential: str, run_id: str, at_least: int) -> None:
    """Until the run's progress says at least `at_least` iterations are done."""

    def enough(message: dict[str, Any]) -> bool:
        run = (message.get("payload", {}).get("data") or {}).get("optimizationProgress") or {}
        return bool(run.get("iterationsCompleted", 0) >= at_least)

    async with Socket(app, credential) as socket:
        await socket.subscribe(PROGRESS, {"id": run_id}, until=enough)


async def iterations(client: GraphQLClient, run_id: str) -> list[int]:
    """The iterations of the run's stored evaluations, in order."""
    run = (await client.data(EVALUATIONS, id=run_id))["optimizationRun"]
    return sorted(e["iteration"] for e in run["evaluations"]["nodes"])

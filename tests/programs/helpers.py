"""What the modules of tests/programs/ share: program mutations and queries, and helpers to run
them and read their results."""

from __future__ import annotations

from typing import Any

from tests.support.factories import PROGRAM, create_signature, errors, unique
from tests.support.http_client import GraphQLClient


def mutation(variables: str, call: str, *error_types: str) -> str:
    """A program mutation whose result is aliased `result`, with its union's error members."""
    return (
        PROGRAM
        + f"mutation{variables} {{ result: {call} {{ __typename ...ProgramParts "
        + errors(*error_types)
        + "} }"
    )


CREATE = mutation(
    "($input: CreateProgramInput!)",
    "createProgram(input: $input)",
    "ValidationError",
    "NotFoundError",
)
UPDATE = mutation(
    "($id: ID!, $input: UpdateProgramInput!)",
    "updateProgram(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
INITIALIZE = mutation("($id: ID!)", "initializeProgram(id: $id)", "NotFoundError")

ARCHIVE = mutation("($id: ID!)", "archiveProgram(id: $id)", "NotFoundError")
UPDATE_METRICS = mutation(
    "($id: ID!, $metrics: JSON!)",
    "updateProgramMetrics(id: $id, metrics: $metrics)",
    "ValidationError",
    "NotFoundError",
)
PROGRAM_QUERY = PROGRAM + "query($id: ID!) { program(id: $id) { __typename ...ProgramParts } }"
PRICED_FAILING_ON_BOOM = {
    "fail_on": {"question": "boom"},
    "prompt_price_per_1k": 0.5,
    "completion_price_per_1k": 1.5,
}
"""A mock program's configuration: priced tokens, and a failure for the question "boom"."""
STATS_QUERY = """query($id: ID!) { program(id: $id) {
    stats { executionCount completedCount failedCount successRate averageDurationMs
            totalCost totalTokens }
    lastExecutedAt } }"""
INVENTORY = """{
    programs(first: 1000) { totalCount nodes { id } }
    signatures(first: 1000) { totalCount nodes { id spec status } } }"""


async def run(client: GraphQLClient, document: str, **variables: Any) -> dict[str, Any]:
    """The `result` of a mutation built by `mutation()`, whatever its type."""
    data = await client.data(document, **variables)
    result: dict[str, Any] = data["result"]
    return result


async def create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"name": unique("program"), "signatureSpec": "question -> answer"} | fields
    return await run(client, CREATE, input={k: v for k, v in given.items() if v is not None})


async def update(client: GraphQLClient, id: str, **changes: Any) -> dict[str, Any]:
    return await run(client, UPDATE, id=id, input=changes)


async def initialize(client: GraphQLClient, id: str) -> dict[str, Any]:
    return await run(client, INITIALIZE, id=id)


async def archive(client: GraphQLClient, id: str) -> dict[str, Any]:
    return await run(client, ARCHIVE, id=id)


async def get_program(client: GraphQLClient, id: str) -> dict[str, Any] | None:
    data = await client.data(PROGRAM_QUERY, id=id)
    program: dict[str, Any] | None = data["program"]
    return program


async def inventory(client: GraphQLClient) -> dict[str, Any]:
    """Every listed program and signature of the organization."""
    return await client.data(INVENTORY)


async def listed_ids(client: GraphQLClient, filter: dict[str, Any] | None = None) -> list[str]:
    data = await client.data(
        "query($filter: ProgramFilter) { programs(filter: $filter) { nodes { id } } }",
        filter=filter,
    )
    return [node["id"] for node in data["programs"]["nodes"]]


async def deprecated_signature(client: GraphQLClient, spec: str = "question -> answer") -> str:
    signature = await create_signature(client, spec=spec)
    for step in ("activateSignature", "deprecateSignature"):
        await client.data(
            f"mutation($id: ID!) {{ {step}(id: $id) {{ __typename }} }}", id=signature["id"]
        )
    return str(signature["id"])


def field_codes(result: dict[str, Any]) -> dict[str, str]:
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "VALIDATION_FAILED"
    return {error["field"]: error["code"] for error in result["fieldErrors"]}

"""Two organizations on one database: nothing of one is visible to, or changeable by, the other.

Each test gets two organizations on one service; the second's admin tries everything on the
first's ids. (`test_isolation.py` does this for every operation of the schema.)
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.config import Settings
from tests.support.factories import (
    create_language_model,
    create_program,
    create_signature,
    errors,
    execute,
)
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant


@pytest.fixture
async def other(app: FastAPI, client: GraphQLClient) -> GraphQLClient:
    """The admin of another organization on the same service and database."""
    return client.acting_as((await new_tenant(app)).admin_key)


@pytest.fixture
async def owned(client: GraphQLClient) -> dict[str, Any]:
    signature = await create_signature(client)
    program = await create_program(client, signatureSpec=None, signatureId=signature["id"])
    execution = await execute(client, program["id"], wait=True)
    model = await create_language_model(client, apiKey="sk-owned", visibility="ORGANIZATION")
    return {
        "signature": signature["id"],
        "program": program["id"],
        "execution": execution["id"],
        "languageModel": model["id"],
    }


async def test_reads_see_nothing(other: GraphQLClient, owned: dict[str, Any]) -> None:
    data = await other.data(
        """query($s: ID!, $p: ID!, $e: ID!, $m: ID!) {
             signature(id: $s) { id } program(id: $p) { id } execution(id: $e) { id }
             languageModel(id: $m) { id }
             signatures { totalCount } programs { totalCount } executions { totalCount }
             languageModels { totalCount }
             byProgram: executions(filter: {programId: {eq: $p}}) { totalCount }
           }""",
        s=owned["signature"],
        p=owned["program"],
        e=owned["execution"],
        m=owned["languageModel"],
    )

    assert data["signature"] is data["program"] is data["execution"] is None
    assert data["languageModel"] is None
    lists = ("signatures", "programs", "executions", "languageModels")
    assert [data[name]["totalCount"] for name in lists] == [0, 0, 0, 0]
    assert data["byProgram"]["totalCount"] == 0


async def test_reads_by_id_in_turn_find_each_their_own(
    other: GraphQLClient, client: GraphQLClient, owned: dict[str, Any]
) -> None:
    """Both admins' reads by id share one statement (`TenantRepository.get`): the organization
    of each read is its own."""
    theirs = await create_program(other, name="theirs")
    query = "query($id: ID!) { program(id: $id) { id } }"

    reads = [
        await reader.data(query, id=id)
        for reader, id in (
            (client, owned["program"]),
            (other, owned["program"]),
            (other, theirs["id"]),
            (client, theirs["id"]),
            (client, owned["program"]),
        )
    ]

    found = [None if read["program"] is None else read["program"]["id"] for read in reads]
    assert found == [owned["program"], None, theirs["id"], None, owned["program"]]


@pytest.mark.parametrize(
    ("mutation", "target"),
    [
        ('updateSignature(id: $id, input: {description: "x"})', "signature"),
        ("activateSignature(id: $id)", "signature"),
        ("deleteSignature(id: $id)", "signature"),
        ('updateProgram(id: $id, input: {name: "x"})', "program"),
        ("initializeProgram(id: $id)", "program"),
        ('cloneProgram(id: $id, name: "mine")', "program"),
        ("archiveProgram(id: $id)", "program"),
        ("updateProgramMetrics(id: $id, metrics: {a: 1})", "program"),
        ('executeProgram(input: {programId: $id, inputs: {question: "q"}})', "program"),
        ('createProgram(input: {name: "x", signatureId: $id})', "signature"),
        ("cancelExecution(id: $id)", "execution"),
        ('updateLanguageModel(id: $id, input: {name: "x"})', "languageModel"),
        ("updateLanguageModel(id: $id, input: {apiKey: null})", "languageModel"),
        ("deleteLanguageModel(id: $id)", "languageModel"),
        ("testLanguageModel(id: $id)", "languageModel"),
    ],
)
async def test_changes_are_not_found(
    other: GraphQLClient,
    client: GraphQLClient,
    owned: dict[str, Any],
    mutation: str,
    target: str,
) -> None:
    name = mutation[: mutation.index("(")]
    query = (
        f"mutation($id: ID!) {{ {name}: {mutation} {{ __typename {errors('NotFoundError')} }} }}"
    )

    result = (await other.data(query, id=owned[target]))[name]

    assert result["__typename"] == "NotFoundError"
    assert result["id"] == owned[target]
    still = await client.data(
        "query($id: ID!) { program(id: $id) { name status stats { executionCount } } }",
        id=owned["program"],
    )
    assert still["program"]["status"] == "READY"
    assert still["program"]["stats"]["executionCount"] == 1
    model = await client.data(
        "query($id: ID!) { languageModel(id: $id) { name hasApiKey } }", id=owned["languageModel"]
    )
    assert model["languageModel"]["hasApiKey"] is True


async def test_the_same_names_do_not_collide(
    other: GraphQLClient, client: GraphQLClient, settings: Settings
) -> None:
    mine = await create_signature(client, name="shared-name")
    theirs = await create_signature(other, name="shared-name")

    assert mine["id"] != theirs["id"]

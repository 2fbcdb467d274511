"""What the modules of tests/language_models/ share: the operations a client sends, helpers to
read their results, and dspy programs that name a model."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.language_models.models import LanguageModel
from dspex_gql.policies import Visibility
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.runtime import Runtime
from tests.support.factories import create_signature, errors, unique
from tests.support.http_client import GraphQLClient

Node = dict[str, Any]

MODEL_PARTS = """
fragment ModelParts on LanguageModel {
  id name model baseUrl hasApiKey defaults promptPricePerMillion completionPricePerMillion
  maxConcurrency requestsPerMinute visibility owner { id } createdAt updatedAt
}
"""


def mutation(variables: str, call: str, *error_types: str) -> str:
    """A language model mutation whose result is aliased `result`, with its union's errors."""
    return (
        MODEL_PARTS
        + f"mutation{variables} {{ result: {call} {{ __typename ...ModelParts "
        + errors(*error_types)
        + "} }"
    )


CREATE = mutation(
    "($input: CreateLanguageModelInput!)", "createLanguageModel(input: $input)", "ValidationError"
)
UPDATE = mutation(
    "($id: ID!, $input: UpdateLanguageModelInput!)",
    "updateLanguageModel(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
DELETE = mutation("($id: ID!)", "deleteLanguageModel(id: $id)", "NotFoundError")
TEST = (
    "mutation($id: ID!) { result: testLanguageModel(id: $id) { __typename "
    "... on LanguageModelCheck { ok latencyMs error } " + errors("NotFoundError") + "} }"
)
MODEL_QUERY = MODEL_PARTS + "query($id: ID!) { languageModel(id: $id) { ...ModelParts } }"
LIST = """query($filter: LanguageModelFilter, $orderBy: [LanguageModelOrder!], $first: Int! = 50,
  $after: String) {
  languageModels(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id name model } } }"""
AUDIT = """query($action: String!) { auditLogs(filter: {action: {eq: $action}}) {
  totalCount nodes { resourceType resourceId changes actor { id } } } }"""

API_KEY = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz"
"""A plaintext key that must never come back, be logged or be stored as it is."""
MINI: Node = {"model": "openai/gpt-4o-mini"}


async def run(client: GraphQLClient, document: str, **variables: Any) -> Node:
    """The `result` of a mutation built by `mutation()`, whatever its type."""
    result: Node = (await client.data(document, **variables))["result"]
    return result


async def create(client: GraphQLClient, **fields: Any) -> Node:
    """`createLanguageModel`'s result, whatever its type."""
    return await run(client, CREATE, input={"name": unique("lm")} | MINI | fields)


async def language_model(client: GraphQLClient, **fields: Any) -> Node:
    """A language model that must be created."""
    created = await create(client, **fields)
    assert created["__typename"] == "LanguageModel", created
    return created


async def get_model(client: GraphQLClient, id: str) -> Node | None:
    found: Node | None = (await client.data(MODEL_QUERY, id=id))["languageModel"]
    return found


async def listed(client: GraphQLClient, **variables: Any) -> Node:
    connection: Node = (await client.data(LIST, **variables))["languageModels"]
    return connection


def problems(result: Node) -> list[tuple[str, str]]:
    """(field, code) of each field error of a ValidationError."""
    assert result["__typename"] == "ValidationError", result
    return [(error["field"], error["code"]) for error in result["fieldErrors"]]


def unchanged(result: Node) -> Node:
    """A mutation's LanguageModel as `languageModel(id)` reads it while nothing has changed."""
    return {key: value for key, value in result.items() if key != "__typename"}


async def audit_rows(admin: GraphQLClient, action: str) -> list[Node]:
    rows: list[Node] = (await admin.data(AUDIT, action=action))["auditLogs"]["nodes"]
    return rows


async def stored_row(app: FastAPI, id: str) -> LanguageModel:
    """The row as the database holds it."""
    runtime: Runtime = app.state.runtime
    async with runtime.uow.read() as tx:
        found = await tx.session.scalars(
            select(LanguageModel).where(LanguageModel.id == uuid.UUID(id))
        )
        return found.one()


async def dspy_program(
    app: FastAPI,
    client: GraphQLClient,
    organization_id: str,
    configuration: Node,
    *,
    name: str | None = None,
    status: ProgramStatus = ProgramStatus.READY,
    created_by: str | None = None,
    visibility: str = "PRIVATE",
) -> str:
    """A program of the `dspy` adapter, stored as the service would store one: this service has
    no dspy adapter registered, so `createProgram` refuses it."""
    signature = await create_signature(client)
    runtime: Runtime = app.state.runtime
    async with runtime.uow() as tx:
        program = Program(
            organization_id=uuid.UUID(organization_id),
            created_by=None if created_by is None else uuid.UUID(created_by),
            name=name or unique("dspy-program"),
            type=ProgramType.PREDICT,
            adapter="dspy",
            status=status,
            signature_id=uuid.UUID(signature["id"]),
            configuration=configuration,
            performance_metrics={},
            tags=[],
            visibility=Visibility(visibility),
        )
        tx.session.add(program)
        await tx.session.flush()
        return str(program.id)

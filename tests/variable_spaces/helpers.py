"""What the modules of tests/variable_spaces/ share: mutations, queries, variables of every type
and helpers to read the results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.factories import errors, unique
from tests.support.http_client import GraphQLClient

Node = dict[str, Any]

SPACE_PARTS = """
fragment SpaceParts on VariableSpace {
  id name description visibility constraints dependencies
  variables { name type default description constraints }
  discreteSpaceSize continuousDimensions variableCount complexityScore optimizationDifficulty
  programCount createdAt updatedAt owner { id }
}
"""


def mutation(variables: str, call: str, *error_types: str) -> str:
    """A variable space mutation whose result is aliased `result`, with its union's errors."""
    return (
        SPACE_PARTS
        + f"mutation{variables} {{ result: {call} {{ __typename ...SpaceParts "
        + errors(*error_types)
        + "} }"
    )


CREATE = mutation(
    "($input: CreateVariableSpaceInput!)",
    "createVariableSpace(input: $input)",
    "ValidationError",
    "NotFoundError",
)
UPDATE = mutation(
    "($id: ID!, $input: UpdateVariableSpaceInput!)",
    "updateVariableSpace(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
ADD = mutation(
    "($id: ID!, $variable: VariableInput!)",
    "addVariable(variableSpaceId: $id, variable: $variable)",
    "ValidationError",
    "NotFoundError",
)
REMOVE = mutation(
    "($id: ID!, $name: String!)",
    "removeVariable(variableSpaceId: $id, name: $name)",
    "ValidationError",
    "NotFoundError",
)
DELETE = mutation("($id: ID!)", "deleteVariableSpace(id: $id)", "NotFoundError")
SPACE_QUERY = SPACE_PARTS + "query($id: ID!) { variableSpace(id: $id) { ...SpaceParts } }"
LIST = """query($filter: VariableSpaceFilter, $orderBy: [VariableSpaceOrder!], $first: Int! = 50,
  $after: String) {
  variableSpaces(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id name } } }"""
GENERATE = """query($id: ID!, $strategy: SamplingStrategy!, $count: Int!, $seed: Int) {
  generateConfigurations(variableSpaceId: $id, strategy: $strategy, count: $count, seed: $seed)
}"""
VALIDATE = """query($id: ID!, $configuration: JSON!) {
  validateConfiguration(variableSpaceId: $id, configuration: $configuration) {
    valid fieldErrors { field message code } } }"""

SPACE_PROGRAMS = """query($id: ID!) { variableSpace(id: $id) {
  programCount programs { totalCount nodes { id } } } }"""
CREATE_PROGRAM = (
    """mutation($input: CreateProgramInput!) { result: createProgram(input: $input) {
  __typename ... on Program { id variableSpace { id } } """
    + errors("NotFoundError")
    + "} }"
)
UPDATE_PROGRAM = (
    """mutation($id: ID!, $input: UpdateProgramInput!) {
  result: updateProgram(id: $id, input: $input) {
  __typename ... on Program { id variableSpace { id } } """
    + errors("NotFoundError")
    + "} }"
)


TEMPERATURE: Node = {
    "name": "temperature",
    "type": "FLOAT",
    "default": 0.7,
    "description": "Sampling temperature",
    "constraints": {"min": 0.0, "max": 1.5},
}

MAX_TOKENS: Node = {
    "name": "max_tokens",
    "type": "INTEGER",
    "default": 256,
    "constraints": {"min": 64, "max": 1024, "step": 64},
}
RETRIEVER: Node = {
    "name": "retriever",
    "type": "CHOICE",
    "constraints": {"choices": ["bm25", "dense"]},
}
TOP_K: Node = {
    "name": "top_k",
    "type": "INTEGER",
    "default": 5,
    "constraints": {"min": 1, "max": 20},
}
MODULE: Node = {
    "name": "module",
    "type": "MODULE",
    "default": "CHAIN_OF_THOUGHT",
    "description": "Which DSPy module runs",
    "constraints": {"modules": ["PREDICT", "CHAIN_OF_THOUGHT"]},
}
USE_CACHE: Node = {"name": "use_cache", "type": "BOOLEAN", "default": True}
TOP_K_WHEN_DENSE: Node = {"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}

RAG: list[Node] = [TEMPERATURE, RETRIEVER, TOP_K, MAX_TOKENS, MODULE, USE_CACHE]
"""With TOP_K_WHEN_DENSE, a space where top_k is only used with the dense retriever."""


async def run(client: GraphQLClient, document: str, **variables: Any) -> Node:
    """The `result` of a mutation built by `mutation()`, whatever its type."""
    result: Node = (await client.data(document, **variables))["result"]
    return result


async def create(client: GraphQLClient, variables: list[Node], **fields: Any) -> Node:
    """`createVariableSpace`'s result, whatever its type."""
    given = {"name": unique("space"), "variables": variables} | fields
    return await run(client, CREATE, input=given)


async def space(client: GraphQLClient, variables: list[Node], **fields: Any) -> Node:
    """A space that must be created."""
    created = await create(client, variables, **fields)
    assert created["__typename"] == "VariableSpace", created
    return created


async def get_space(client: GraphQLClient, id: str) -> Node | None:
    found: Node | None = (await client.data(SPACE_QUERY, id=id))["variableSpace"]
    return found


async def space_count(client: GraphQLClient) -> int:
    count: int = (await client.data(LIST))["variableSpaces"]["totalCount"]
    return count


async def listed(client: GraphQLClient, **variables: Any) -> Node:
    connection: Node = (await client.data(LIST, **variables))["variableSpaces"]
    return connection


async def generated(
    client: GraphQLClient, id: str, strategy: str, count: int, seed: int | None = None
) -> list[Node]:
    found: list[Node] = (
        await client.data(GENERATE, id=id, strategy=strategy, count=count, seed=seed)
    )["generateConfigurations"]
    return found


async def check(client: GraphQLClient, id: str, configuration: Any) -> Node:
    result: Node = (await client.data(VALIDATE, id=id, configuration=configuration))[
        "validateConfiguration"
    ]
    return result


def problems(result: Node) -> list[tuple[str, str]]:
    """(field, code) of each field error of a ValidationError."""
    assert result["__typename"] == "ValidationError", result
    return [(error["field"], error["code"]) for error in result["fieldErrors"]]


def unchanged(result: Node) -> Node:
    """A mutation's VariableSpace as `variableSpace(id)` reads it while nothing has changed."""
    return {key: value for key, value in result.items() if key != "__typename"}


async def stored(client: GraphQLClient, id: str) -> Node:
    """A space that must exist, as `variableSpace(id)` reads it."""
    found = await get_space(client, id)
    assert found is not None, id
    return found


def named(result: Node) -> dict[str, Node]:
    return {variable["name"]: variable for variable in result["variables"]}


BOOL_A: Node = {"name": "a", "type": "BOOLEAN"}


SMALL: list[Node] = [TEMPERATURE, RETRIEVER]
"""One continuous variable and a CHOICE of 2: size 2."""


@dataclass(frozen=True)
class Shared:
    client: GraphQLClient
    rag: str
    """A space of RAG with TOP_K_WHEN_DENSE."""
    flag: str
    """A space of USE_CACHE alone."""


async def new_program(client: GraphQLClient, **fields: Any) -> Node:
    given = {"name": unique("program"), "signatureSpec": "question -> answer"} | fields
    return await run(client, CREATE_PROGRAM, input=given)


async def space_programs(client: GraphQLClient, id: str) -> tuple[int, int]:
    """programCount and programs.totalCount of the space."""
    found = (await client.data(SPACE_PROGRAMS, id=id))["variableSpace"]
    return found["programCount"], found["programs"]["totalCount"]

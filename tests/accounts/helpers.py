"""What the modules of tests/accounts/ share: account queries and mutations, and helpers to run
them and read their results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tests.support.factories import errors
from tests.support.http_client import GraphQLClient

USER = "id email name role active lastLoginAt createdAt"
ME = f"{{ me {{ {USER} organization {{ id slug }} }} }}"
ORGANIZATION = """{ organization { id name slug settings computeQuotaSeconds computeUsedSeconds
  totalExecutions } }"""
USERS = f"""query($filter: UserFilter, $orderBy: [UserOrder!], $first: Int! = 50, $after: String) {{
  users(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    totalCount nodes {{ {USER} }} pageInfo {{ hasNextPage endCursor }} }} }}"""

CREATE_USER = (
    "mutation($input: CreateUserInput!) { createUser(input: $input) {"
    f" __typename ... on User {{ {USER} }} {errors('ValidationError')} }} }}"
)
UPDATE_USER = (
    "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) {"
    f" __typename ... on User {{ {USER} }} {errors('ValidationError', 'NotFoundError')} }} }}"
)
DEACTIVATE_USER = (
    "mutation($id: ID!) { deactivateUser(id: $id) {"
    f" __typename ... on User {{ {USER} }} {errors('NotFoundError')} }} }}"
)
CHANGE_PASSWORD = (
    "mutation($current: String!, $new: String!) {"
    " changePassword(currentPassword: $current, newPassword: $new) {"
    f" __typename ... on AuthPayload {{ token expiresAt user {{ id }} }}"
    f" {errors('ValidationError')} }} }}"
)
SIGN_IN = (
    "mutation($email: String!, $password: String!) {"
    " signIn(email: $email, password: $password) {"
    f" __typename ... on AuthPayload {{ token expiresAt user {{ {USER} organization {{ id }} }} }}"
    f" {errors('ValidationError')} }} }}"
)

CREATE_API_KEY = (
    "mutation($name: String!, $expiresAt: DateTime) {"
    " createApiKey(name: $name, expiresAt: $expiresAt) {"
    " __typename ... on NewApiKey { secret apiKey"
    " { id name prefix createdAt lastUsedAt expiresAt revokedAt } }"
    f" {errors('ValidationError')} }} }}"
)


def email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.test"


async def create_user(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"email": email(), "name": "Person"} | fields
    result: dict[str, Any] = (await client.data(CREATE_USER, input=given))["createUser"]
    return result


async def update_user(client: GraphQLClient, id: str, **changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(UPDATE_USER, id=id, input=changes))["updateUser"]
    return result


async def deactivate(client: GraphQLClient, id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(DEACTIVATE_USER, id=id))["deactivateUser"]
    return result


async def sign_in(client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    result: dict[str, Any] = (
        await client.acting_as(None).data(SIGN_IN, email=email, password=password)
    )["signIn"]
    return result


async def create_key(client: GraphQLClient, name: str = "key", **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(CREATE_API_KEY, name=name, **fields))[
        "createApiKey"
    ]
    return result


async def users(client: GraphQLClient, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(USERS, **arguments))["users"]
    return result


def problems(result: dict[str, Any]) -> dict[str, str]:
    """A ValidationError's field errors: field → code."""
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "VALIDATION_FAILED"
    return {error["field"]: error["code"] for error in result["fieldErrors"]}


def kind(result: dict[str, Any]) -> tuple[str, str | None]:
    return result["__typename"], result.get("code")


FORBIDDEN = ("ForbiddenError", "FORBIDDEN")
CONFLICT = ("ConflictError", "CONFLICT")
NOT_FOUND = ("NotFoundError", "NOT_FOUND")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)

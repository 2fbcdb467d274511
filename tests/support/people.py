"""Members of an organization, made by its admin through the API and signed in for real."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.support.http_client import GraphQLClient

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"

CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
  __typename ... on User { id email role } ... on Error { message code } } }"""
SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) {
  __typename ... on AuthPayload { token expiresAt user { id } } ... on Error { message code } } }"""
CREATE_KEY = """mutation($name: String!) { createApiKey(name: $name) {
  __typename ... on NewApiKey { secret apiKey { id prefix } } ... on Error { message code } } }"""
CREATE_KEY_EXPIRING = """mutation($name: String!, $expiresAt: DateTime) {
  createApiKey(name: $name, expiresAt: $expiresAt) { __typename
  ... on NewApiKey { secret apiKey { id expiresAt } } ... on Error { message code } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on ApiKey { id revokedAt } ... on Error { message code } } }"""
DEACTIVATE = """mutation($id: ID!) { deactivateUser(id: $id) {
  __typename ... on User { id active } ... on Error { message code } } }"""
CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
  __typename ... on AuthPayload { token expiresAt user { id } }
  ... on ValidationError { message code fieldErrors { field code } } } }"""


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    role: str
    token: str
    """A signed session token (JWT)."""
    key: str
    """An API key of the member's own."""
    key_id: str
    client: GraphQLClient
    """Acting with the member's API key."""


async def member(admin: GraphQLClient, role: str = "USER", name: str | None = None) -> Member:
    """A new user with `role` in the admin's organization, with a password, a token and a key."""
    email = f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.test"
    created = (
        await admin.data(
            CREATE_USER,
            input={
                "email": email,
                "name": name or role.title(),
                "role": role,
                "password": PASSWORD,
            },
        )
    )["createUser"]
    assert created["__typename"] == "User", created
    signed_in = (await admin.acting_as(None).data(SIGN_IN, email=email, password=PASSWORD))[
        "signIn"
    ]
    assert signed_in["__typename"] == "AuthPayload", signed_in
    as_user = admin.acting_as(signed_in["token"])
    key = (await as_user.data(CREATE_KEY, name="tests"))["createApiKey"]
    assert key["__typename"] == "NewApiKey", key
    return Member(
        id=created["id"],
        email=email,
        role=role,
        token=signed_in["token"],
        key=key["secret"],
        key_id=key["apiKey"]["id"],
        client=admin.acting_as(key["secret"]),
    )

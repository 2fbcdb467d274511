"""What the modules of tests/audit/ share: reading the log, sending a request and checking the
rows it wrote, the team, and the mutations audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tests.support.http_client import GraphQLClient
from tests.support.people import Member
from tests.support.tenants import Tenant

Node = dict[str, Any]

USER_AGENT = "dspex-tests/1.0 (audit)"
CLIENT_ADDRESS = "10.0.0.7"  # what tests.support.http_client says the client is

NEW_PASSWORD = "a different long passphrase"

ROW = """id action resourceType resourceId actor { id } changes metadata requestId ipAddress
  userAgent createdAt"""
LOGS = f"""query($filter: AuditLogFilter, $orderBy: [AuditLogOrder!], $first: Int! = 50,
  $after: String) {{
  auditLogs(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{ cursor node {{ id }} }}
    nodes {{ {ROW} }} }} }}"""


async def logs(admin: GraphQLClient, **variables: Any) -> Node:
    connection: Node = (await admin.data(LOGS, **variables))["auditLogs"]
    return connection


async def log_size(admin: GraphQLClient, filter: Node | None = None) -> int:
    data = await admin.data(
        "query($filter: AuditLogFilter) { auditLogs(filter: $filter) { totalCount } }",
        filter=filter,
    )
    count: int = data["auditLogs"]["totalCount"]
    return count


async def every_row(admin: GraphQLClient, **variables: Any) -> list[Node]:
    """The whole log, page by page."""
    rows: list[Node] = []
    after = None
    while True:
        page = await logs(admin, first=100, after=after, **variables)
        rows += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


@dataclass(frozen=True)
class Sent:
    data: Node
    request_id: str
    """The x-request-id header of the response."""
    rows: list[Node]
    """The audit rows the request wrote."""

    def row(self, action: str) -> Node:
        [row] = [row for row in self.rows if row["action"] == action]
        return row


async def send(actor: GraphQLClient, admin: GraphQLClient, query: str, **variables: Any) -> Sent:
    """Send one request as `actor`, as a client would, and find the audit rows it wrote (read as
    `admin`, who may read the log)."""
    before = await log_size(admin)
    request_id = f"req-{uuid.uuid4().hex}"
    headers = actor.headers | {"x-request-id": request_id, "user-agent": USER_AGENT}
    response = await actor.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert not body.get("errors"), body
    echoed = response.headers["x-request-id"]
    assert echoed == request_id
    written = await log_size(admin) - before
    newest = (await logs(admin, first=written + 20))["nodes"]
    rows = [row for row in newest if row["requestId"] == echoed]
    assert len(rows) == written, (written, rows)
    return Sent(body["data"], echoed, rows)


async def check_row(
    admin: GraphQLClient,
    sent: Sent,
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    actor: str,
    changes: Node,
    credential: str = "api_key",
) -> Node:
    """The request wrote exactly one row, this one, and a filter on its action finds it first."""
    assert [row["action"] for row in sent.rows] == [action]
    [row] = sent.rows
    assert row["resourceType"] == resource_type
    assert row["resourceId"] == resource_id
    assert row["actor"] == {"id": actor}
    assert row["changes"] == changes
    assert row["metadata"] == {"credential": credential}
    assert row["requestId"] == sent.request_id
    assert row["ipAddress"] == CLIENT_ADDRESS
    assert row["userAgent"] == USER_AGENT
    by_action = await logs(admin, filter={"action": {"eq": action}}, first=1)
    assert by_action["nodes"] == [row]
    return row


@dataclass(frozen=True)
class Team:
    app: FastAPI
    tenant: Tenant
    admin: GraphQLClient
    alice: Member
    """A USER."""
    vera: Member
    """A VIEWER."""


def by_id(name: str, type: str, extra: str = "") -> str:
    arguments = f"id: $id, {extra}" if extra else "id: $id"
    return (
        f"mutation($id: ID!) {{ {name}({arguments}) {{ __typename"
        f" ... on {type} {{ id }} ... on Error {{ message code }} }} }}"
    )


CREATE_SIGNATURE = """mutation($input: CreateSignatureInput!) { createSignature(input: $input) {
  __typename ... on Signature { id name spec } ... on Error { message code } } }"""
UPDATE_SIGNATURE = """mutation($id: ID!, $input: UpdateSignatureInput!) {
  updateSignature(id: $id, input: $input) { __typename ... on Error { message code } } }"""
CREATE_PROGRAM = """mutation($input: CreateProgramInput!) { createProgram(input: $input) {
  __typename ... on Program { id status configuration signature { id } }
  ... on Error { message code } } }"""
UPDATE_PROGRAM = """mutation($id: ID!, $input: UpdateProgramInput!) {
  updateProgram(id: $id, input: $input) { __typename ... on Error { message code } } }"""

UPDATE_METRICS = """mutation($id: ID!, $metrics: JSON!) {
  updateProgramMetrics(id: $id, metrics: $metrics) { __typename ... on Error { message code } } }"""

CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
  __typename ... on User { id } ... on Error { message code } } }"""

CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
  __typename ... on AuthPayload { token } ... on Error { message code } } }"""
CREATE_KEY = """mutation($name: String!) { createApiKey(name: $name) {
  __typename ... on NewApiKey { secret apiKey { id prefix } } ... on Error { message code } } }"""

UPDATE_ORGANIZATION = """mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { __typename ... on Organization { id slug }
  ... on Error { message code } } }"""
SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) {
  __typename ... on AuthPayload { token user { id } } ... on Error { message code } } }"""
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
  __typename ... on AuthPayload { token user { id } } ... on Error { message code } } }"""

"""The audit log: one immutable row per successful change, never a secret, admins only.

Every request here carries its own X-Request-ID and User-Agent, so the rows a request wrote are
told apart by their `requestId`; the log's totalCount before and after says there were no others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from dspex_gql.app import create_app
from dspex_gql.config import AuthSettings
from tests.support.app import TEST_JWT_SECRET, make_settings
from tests.support.factories import create_program, create_signature, execute, unique
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, Member, member
from tests.support.tenants import Tenant, new_tenant

Node = dict[str, Any]

USER_AGENT = "dspex-tests/1.0 (audit)"
CLIENT_ADDRESS = "10.0.0.7"  # what tests.support.http_client says the client is
SLOW = {"latency_ms": 60_000}
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


@pytest.fixture(scope="class")
async def team(database_url: str) -> AsyncIterator[Team]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        tenant = await new_tenant(application)
        async with GraphQLClient.for_app(application, tenant.admin_key) as admin:
            yield Team(
                app=application,
                tenant=tenant,
                admin=admin,
                alice=await member(admin, "USER", "Alice"),
                vera=await member(admin, "VIEWER", "Vera"),
            )


def on(signature: Node) -> dict[str, Any]:
    return {"signatureId": signature["id"], "signatureSpec": None}


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
CLONE_PROGRAM = """mutation($id: ID!, $name: String!) { cloneProgram(id: $id, name: $name) {
  __typename ... on Program { id } ... on Error { message code } } }"""
UPDATE_METRICS = """mutation($id: ID!, $metrics: JSON!) {
  updateProgramMetrics(id: $id, metrics: $metrics) { __typename ... on Error { message code } } }"""
EXECUTE = """mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id status } ... on Error { message code } } }"""
CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
  __typename ... on User { id } ... on Error { message code } } }"""
UPDATE_USER = """mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) {
  __typename ... on Error { message code } } }"""
CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
  __typename ... on AuthPayload { token } ... on Error { message code } } }"""
CREATE_KEY = """mutation($name: String!) { createApiKey(name: $name) {
  __typename ... on NewApiKey { secret apiKey { id prefix } } ... on Error { message code } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on Error { message code } } }"""
UPDATE_ORGANIZATION = """mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { __typename ... on Organization { id slug }
  ... on Error { message code } } }"""
SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) {
  __typename ... on AuthPayload { token user { id } } ... on Error { message code } } }"""
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
  __typename ... on AuthPayload { token user { id } } ... on Error { message code } } }"""


class TestSignatureChangesAreAudited:
    async def test_create(self, team: Team) -> None:
        name = unique("sig")

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_SIGNATURE,
            input={
                "name": name,
                "spec": "question, context: list[str] -> answer",
                "visibility": "ORGANIZATION",
            },
        )

        created = sent.data["createSignature"]
        await check_row(
            team.admin,
            sent,
            action="signature.create",
            resource_type="Signature",
            resource_id=created["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "version": "1.0.0",
                "spec": "question: str, context: list[str] -> answer: str",
                "visibility": "ORGANIZATION",
            },
        )

    async def test_update(self, team: Team) -> None:
        signature = await create_signature(team.admin)

        sent = await send(
            team.admin,
            team.admin,
            UPDATE_SIGNATURE,
            id=signature["id"],
            input={"description": "new", "instructions": "Be brief."},
        )

        assert sent.data["updateSignature"]["__typename"] == "Signature"
        await check_row(
            team.admin,
            sent,
            action="signature.update",
            resource_type="Signature",
            resource_id=signature["id"],
            actor=team.tenant.admin_id,
            changes={"description": "new", "instructions": "Be brief."},
        )

    async def test_activate_and_deprecate(self, team: Team) -> None:
        signature = await create_signature(team.admin)

        activated = await send(
            team.admin, team.admin, by_id("activateSignature", "Signature"), id=signature["id"]
        )
        deprecated = await send(
            team.admin, team.admin, by_id("deprecateSignature", "Signature"), id=signature["id"]
        )

        for sent, action, change in [
            (activated, "signature.activate", ["DRAFT", "ACTIVE"]),
            (deprecated, "signature.deprecate", ["ACTIVE", "DEPRECATED"]),
        ]:
            await check_row(
                team.admin,
                sent,
                action=action,
                resource_type="Signature",
                resource_id=signature["id"],
                actor=team.tenant.admin_id,
                changes={"status": change},
            )

    async def test_delete(self, team: Team) -> None:
        signature = await create_signature(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            by_id("deleteSignature", "Signature"),
            id=signature["id"],
        )

        assert sent.data["deleteSignature"]["__typename"] == "Signature"
        await check_row(
            team.admin,
            sent,
            action="signature.delete",
            resource_type="Signature",
            resource_id=signature["id"],
            actor=team.alice.id,
            changes={"name": signature["name"], "version": "1.0.0"},
        )


class TestProgramChangesAreAudited:
    async def test_create_on_an_existing_signature(self, team: Team) -> None:
        signature = await create_signature(team.alice.client)
        name = unique("program")

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_PROGRAM,
            input={
                "name": name,
                "signatureId": signature["id"],
                "configuration": {"temperature": 0.2},
                "tags": ["qa"],
            },
        )

        program = sent.data["createProgram"]
        await check_row(
            team.admin,
            sent,
            action="program.create",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "type": "PREDICT",
                "adapter": "mock",
                "implementation": None,
                "signatureId": signature["id"],
                "configuration": {"temperature": 0.2},
                "tags": ["qa"],
                "visibility": "PRIVATE",
                "variableSpaceId": None,
            },
        )

    async def test_create_with_a_new_signature_and_initialization(self, team: Team) -> None:
        tag = uuid.uuid4().hex[:8]
        spec = f"text_{tag}: str -> label_{tag}: str"

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_PROGRAM,
            input={"name": unique("program"), "signatureSpec": spec, "initialize": True},
        )

        program = sent.data["createProgram"]
        assert program["status"] == "READY"
        actions = sorted(row["action"] for row in sent.rows)
        assert actions == ["program.create", "program.initialize", "signature.create"]
        assert sent.row("signature.create")["resourceId"] == program["signature"]["id"]
        assert sent.row("signature.create")["changes"]["spec"] == spec
        assert sent.row("program.create")["resourceId"] == program["id"]
        assert sent.row("program.create")["changes"]["signatureId"] == program["signature"]["id"]
        initialized = sent.row("program.initialize")
        assert initialized["resourceId"] == program["id"]
        assert initialized["changes"] == {"status": ["DRAFT", "INITIALIZING"]}
        for row in sent.rows:
            assert row["actor"] == {"id": team.alice.id}
            assert (row["ipAddress"], row["userAgent"]) == (CLIENT_ADDRESS, USER_AGENT)

    async def test_update(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)

        sent = await send(
            team.alice.client,
            team.admin,
            UPDATE_PROGRAM,
            id=program["id"],
            input={"name": "renamed", "tags": ["a", "b"], "description": None},
        )

        assert sent.data["updateProgram"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.update",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"name": "renamed", "tags": ["a", "b"], "description": None},
        )

    async def test_update_names_changed_fields_as_the_api_does(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)
        signature = await create_signature(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            UPDATE_PROGRAM,
            id=program["id"],
            input={"signatureId": signature["id"]},
        )

        assert sent.row("program.update")["changes"] == {"signatureId": signature["id"]}

    async def test_initialize(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)

        sent = await send(
            team.alice.client, team.admin, by_id("initializeProgram", "Program"), id=program["id"]
        )

        assert sent.data["initializeProgram"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.initialize",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"status": ["DRAFT", "INITIALIZING"]},
        )

    async def test_clone(self, team: Team) -> None:
        source = await create_program(team.admin, visibility="ORGANIZATION")
        name = unique("clone")

        sent = await send(team.alice.client, team.admin, CLONE_PROGRAM, id=source["id"], name=name)

        clone = sent.data["cloneProgram"]
        row = await check_row(
            team.admin,
            sent,
            action="program.clone",
            resource_type="Program",
            resource_id=clone["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "type": "PREDICT",
                "adapter": "mock",
                "implementation": None,
                "signatureId": source["signature"]["id"],
                "configuration": {},
                "tags": [],
                "visibility": "ORGANIZATION",
                "variableSpaceId": None,
                "parentId": source["id"],
            },
        )
        assert row["resourceId"] != source["id"]

    async def test_archive(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.alice.client, team.admin, by_id("archiveProgram", "Program"), id=program["id"]
        )

        await check_row(
            team.admin,
            sent,
            action="program.archive",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"status": ["READY", "ARCHIVED"]},
        )

    async def test_update_metrics(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.admin,
            team.admin,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"accuracy": 0.9, "notes": {"run": 3}, "stale": None},
        )

        assert sent.data["updateProgramMetrics"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.updateMetrics",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.tenant.admin_id,
            changes={"metrics": {"accuracy": 0.9, "notes": {"run": 3}, "stale": None}},
        )


class TestExecutionChangesAreAudited:
    async def test_start(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            EXECUTE,
            input={"programId": program["id"], "inputs": {"question": "Why?"}, "wait": True},
        )

        execution = sent.data["executeProgram"]
        assert execution["status"] == "COMPLETED"
        await check_row(
            team.admin,
            sent,
            action="execution.start",
            resource_type="Execution",
            resource_id=execution["id"],
            actor=team.alice.id,
            changes={"programId": program["id"], "inputs": ["question"]},
        )

    async def test_cancel(self, team: Team) -> None:
        program = await create_program(team.alice.client, configuration=SLOW)
        execution = await execute(team.alice.client, program["id"])

        sent = await send(
            team.alice.client,
            team.admin,
            by_id("cancelExecution", "Execution"),
            id=execution["id"],
        )

        assert sent.data["cancelExecution"]["__typename"] == "Execution"
        [row] = sent.rows
        assert row["changes"]["status"][0] in ("PENDING", "RUNNING")
        await check_row(
            team.admin,
            sent,
            action="execution.cancel",
            resource_type="Execution",
            resource_id=execution["id"],
            actor=team.alice.id,
            changes={"status": [row["changes"]["status"][0], "CANCELLED"]},
        )


class TestAccountChangesAreAudited:
    async def test_create_user(self, team: Team) -> None:
        email = f"new-{uuid.uuid4().hex[:8]}@example.test"

        sent = await send(
            team.admin,
            team.admin,
            CREATE_USER,
            input={"email": email.upper(), "name": " New ", "role": "VIEWER"},
        )

        user = sent.data["createUser"]
        await check_row(
            team.admin,
            sent,
            action="user.create",
            resource_type="User",
            resource_id=user["id"],
            actor=team.tenant.admin_id,
            changes={"email": email, "name": "New", "role": "VIEWER"},
        )

    async def test_update_user(self, team: Team) -> None:
        someone = await member(team.admin, "USER")

        sent = await send(
            team.admin,
            team.admin,
            UPDATE_USER,
            id=someone.id,
            input={"name": "Renamed", "role": "VIEWER"},
        )

        assert sent.data["updateUser"]["__typename"] == "User"
        await check_row(
            team.admin,
            sent,
            action="user.update",
            resource_type="User",
            resource_id=someone.id,
            actor=team.tenant.admin_id,
            changes={"name": "Renamed", "role": "VIEWER"},
        )

    async def test_users_update_themselves(self, team: Team) -> None:
        someone = await member(team.admin, "USER")

        sent = await send(
            someone.client, team.admin, UPDATE_USER, id=someone.id, input={"name": "Me"}
        )

        await check_row(
            team.admin,
            sent,
            action="user.update",
            resource_type="User",
            resource_id=someone.id,
            actor=someone.id,
            changes={"name": "Me"},
        )

    async def test_deactivate_user(self, team: Team) -> None:
        someone = await member(team.admin, "USER")

        sent = await send(team.admin, team.admin, by_id("deactivateUser", "User"), id=someone.id)

        assert sent.data["deactivateUser"]["__typename"] == "User"
        await check_row(
            team.admin,
            sent,
            action="user.deactivate",
            resource_type="User",
            resource_id=someone.id,
            actor=team.tenant.admin_id,
            changes={"active": False},
        )

    async def test_change_password(self, team: Team) -> None:
        someone = await member(team.admin, "VIEWER")

        sent = await send(
            someone.client, team.admin, CHANGE_PASSWORD, current=PASSWORD, new=NEW_PASSWORD
        )

        assert sent.data["changePassword"]["__typename"] == "AuthPayload"
        await check_row(
            team.admin,
            sent,
            action="user.changePassword",
            resource_type="User",
            resource_id=someone.id,
            actor=someone.id,
            changes={},
        )

    async def test_create_api_key(self, team: Team) -> None:
        sent = await send(team.vera.client, team.admin, CREATE_KEY, name="ci")

        key = sent.data["createApiKey"]["apiKey"]
        await check_row(
            team.admin,
            sent,
            action="apiKey.create",
            resource_type="ApiKey",
            resource_id=key["id"],
            actor=team.vera.id,
            changes={"name": "ci", "prefix": key["prefix"], "expiresAt": None},
        )

    async def test_revoke_api_key(self, team: Team) -> None:
        someone = await member(team.admin, "USER")

        sent = await send(team.admin, team.admin, REVOKE_KEY, id=someone.key_id)

        assert sent.data["revokeApiKey"]["__typename"] == "ApiKey"
        await check_row(
            team.admin,
            sent,
            action="apiKey.revoke",
            resource_type="ApiKey",
            resource_id=someone.key_id,
            actor=team.tenant.admin_id,
            changes={"name": "tests"},
        )

    async def test_update_organization(self, team: Team) -> None:
        sent = await send(
            team.admin,
            team.admin,
            UPDATE_ORGANIZATION,
            input={"name": "Renamed Org", "settings": {"theme": "dark"}},
        )

        organization = sent.data["updateOrganization"]
        assert organization["id"] == team.tenant.organization_id
        await check_row(
            team.admin,
            sent,
            action="organization.update",
            resource_type="Organization",
            resource_id=team.tenant.organization_id,
            actor=team.tenant.admin_id,
            changes={"name": "Renamed Org", "settings": {"theme": "dark"}},
        )

    async def test_sign_in(self, team: Team) -> None:
        someone = await member(team.admin, "USER")

        sent = await send(
            team.admin.acting_as(None),
            team.admin,
            SIGN_IN,
            email=someone.email,
            password=PASSWORD,
        )

        assert sent.data["signIn"]["user"] == {"id": someone.id}
        await check_row(
            team.admin,
            sent,
            action="auth.signIn",
            resource_type="User",
            resource_id=someone.id,
            actor=someone.id,
            changes={"method": "password"},
            credential="token",
        )


@pytest.fixture
async def signup_app(database_url: str) -> AsyncIterator[FastAPI]:
    auth = AuthSettings(
        jwt_secret=TEST_JWT_SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        allow_signup=True,
    )
    application = create_app(make_settings(database_url, auth=auth))
    async with application.router.lifespan_context(application):
        yield application


class TestSignUpIsAudited:
    async def test_the_new_organization_is_recorded_in_its_own_log(
        self, signup_app: FastAPI
    ) -> None:
        email = f"founder-{uuid.uuid4().hex[:8]}@example.test"
        password = "founders long passphrase"
        request_id = f"req-{uuid.uuid4().hex}"
        variables = {
            "input": {
                "organizationName": f"Acme {uuid.uuid4().hex[:6]}",
                "name": "Founder",
                "email": email,
                "password": password,
            }
        }

        async with GraphQLClient.for_app(signup_app) as anonymous:
            response = await anonymous.http.post(
                "/graphql",
                json={"query": SIGN_UP, "variables": variables},
                headers={"x-request-id": request_id, "user-agent": USER_AGENT},
            )
            signed_up = response.json()["data"]["signUp"]
            founder = anonymous.acting_as(signed_up["token"])
            organization = (await founder.data("{ organization { id slug } }"))["organization"]
            rows = await every_row(founder)

        assert response.headers["x-request-id"] == request_id
        assert [row["action"] for row in rows] == ["organization.create"]
        [row] = rows
        assert row["resourceType"] == "Organization"
        assert row["resourceId"] == organization["id"]
        assert row["actor"] == {"id": signed_up["user"]["id"]}
        assert row["changes"] == {
            "name": variables["input"]["organizationName"],
            "slug": organization["slug"],
            "adminEmail": email,
        }
        assert (row["requestId"], row["ipAddress"], row["userAgent"]) == (
            request_id,
            CLIENT_ADDRESS,
            USER_AGENT,
        )
        assert password not in json.dumps(row)

    async def test_the_payload_shows_the_new_organization(self, signup_app: FastAPI) -> None:
        variables = {
            "input": {
                "organizationName": f"Acme {uuid.uuid4().hex[:6]}",
                "name": "Founder",
                "email": f"founder-{uuid.uuid4().hex[:8]}@example.test",
                "password": "founders long passphrase",
            }
        }

        async with GraphQLClient.for_app(signup_app) as anonymous:
            data = await anonymous.data(
                """mutation($input: SignUpInput!) { signUp(input: $input) {
                  ... on AuthPayload { user { organization { name } } } } }""",
                **variables,
            )

        organization = data["signUp"]["user"]["organization"]
        assert organization == {"name": variables["input"]["organizationName"]}


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    client: GraphQLClient
    query: str
    variables: Node
    refusal: str
    """The result's __typename, or the top-level error code."""


async def refused_attempt(team: Team, case: str) -> Attempt:
    """Set up (which may itself write rows) and describe one refused mutation."""
    admin, alice, vera = team.admin, team.alice.client, team.vera.client
    variables: Node
    if case == "invalid spec":
        return Attempt(
            admin,
            CREATE_SIGNATURE,
            {"input": {"name": unique("s"), "spec": "a ->"}},
            "ValidationError",
        )
    if case == "unknown adapter":
        signature = await create_signature(admin)
        variables = {"input": {"name": unique("p"), "adapter": "nope", **on(signature)}}
        return Attempt(admin, CREATE_PROGRAM, variables, "ValidationError")
    if case == "wrong password":
        variables = {"email": team.alice.email, "password": "not the password"}
        return Attempt(admin.acting_as(None), SIGN_IN, variables, "ValidationError")
    if case == "wrong current password":
        variables = {"current": "not the password", "new": NEW_PASSWORD}
        return Attempt(alice, CHANGE_PASSWORD, variables, "ValidationError")
    if case == "blank key name":
        return Attempt(alice, CREATE_KEY, {"name": " "}, "ValidationError")
    if case == "unknown signature":
        query = by_id("activateSignature", "Signature")
        return Attempt(admin, query, {"id": str(uuid.uuid4())}, "NotFoundError")
    if case == "private program of another":
        program = await create_program(admin, ready=False)
        query = by_id("archiveProgram", "Program")
        return Attempt(alice, query, {"id": program["id"]}, "NotFoundError")
    if case == "activated twice":
        signature = await create_signature(admin)
        query = by_id("activateSignature", "Signature")
        await admin.data(query, id=signature["id"])
        return Attempt(admin, query, {"id": signature["id"]}, "ConflictError")
    if case == "signature in use":
        program = await create_program(admin, ready=False)
        query = by_id("deleteSignature", "Signature")
        return Attempt(admin, query, {"id": program["signature"]["id"]}, "ConflictError")
    if case == "duplicate email":
        variables = {"input": {"email": team.alice.email, "name": "Twin"}}
        return Attempt(admin, CREATE_USER, variables, "ConflictError")
    if case == "finished execution":
        program = await create_program(alice)
        execution = await execute(alice, program["id"], wait=True)
        query = by_id("cancelExecution", "Execution")
        return Attempt(alice, query, {"id": execution["id"]}, "ConflictError")
    if case == "viewer creates":
        variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
        return Attempt(vera, CREATE_SIGNATURE, variables, "ForbiddenError")
    if case == "user changes a shared program of another":
        program = await create_program(admin, visibility="ORGANIZATION", ready=False)
        variables = {"id": program["id"], "metrics": {"accuracy": 1.0}}
        return Attempt(alice, UPDATE_METRICS, variables, "ForbiddenError")
    if case == "user creates a user":
        variables = {"input": {"email": f"x-{uuid.uuid4().hex[:6]}@example.test", "name": "X"}}
        return Attempt(alice, CREATE_USER, variables, "ForbiddenError")
    if case == "user updates the organization":
        variables = {"input": {"name": "Mine now"}}
        return Attempt(alice, UPDATE_ORGANIZATION, variables, "ForbiddenError")
    if case == "sign-up disabled":
        variables = {
            "input": {
                "organizationName": "Nope",
                "name": "N",
                "email": f"n-{uuid.uuid4().hex[:6]}@example.test",
                "password": "long enough passphrase",
            }
        }
        return Attempt(admin.acting_as(None), SIGN_UP, variables, "ForbiddenError")
    if case == "no credential":
        variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
        return Attempt(admin.acting_as(None), CREATE_SIGNATURE, variables, "UNAUTHENTICATED")
    assert case == "bad credential"
    variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
    return Attempt(
        admin.acting_as("dsx_0123456789ab_forged"), CREATE_SIGNATURE, variables, "UNAUTHENTICATED"
    )


REFUSALS = [
    "invalid spec",
    "unknown adapter",
    "wrong password",
    "wrong current password",
    "blank key name",
    "unknown signature",
    "private program of another",
    "activated twice",
    "signature in use",
    "duplicate email",
    "finished execution",
    "viewer creates",
    "user changes a shared program of another",
    "user creates a user",
    "user updates the organization",
    "sign-up disabled",
    "no credential",
    "bad credential",
]


class TestRefusedChangesAreNotAudited:
    @pytest.mark.parametrize("case", REFUSALS)
    async def test_no_row_is_written(self, team: Team, case: str) -> None:
        attempt = await refused_attempt(team, case)
        before = await log_size(team.admin)

        body = await attempt.client.execute(attempt.query, **attempt.variables)

        if attempt.refusal == "UNAUTHENTICATED":
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        else:
            assert not body.get("errors"), body
            [result] = body["data"].values()
            assert result["__typename"] == attempt.refusal, result
        assert await log_size(team.admin) == before


# --- secrets -------------------------------------------------------------------------------


class TestSecretsNeverAppear:
    async def test_keys_passwords_tokens_and_secret_configuration_are_kept_out(
        self, team: Team
    ) -> None:
        admin = team.admin
        key = (await admin.data(CREATE_KEY, name="secret holder"))["createApiKey"]
        user_password = "the new users own passphrase"
        email = f"pw-{uuid.uuid4().hex[:8]}@example.test"
        await admin.data(
            CREATE_USER, input={"email": email, "name": "Pw", "password": user_password}
        )
        signed_in = (
            await admin.acting_as(None).data(SIGN_IN, email=email, password=user_password)
        )["signIn"]
        as_user = admin.acting_as(signed_in["token"])
        changed = (await as_user.data(CHANGE_PASSWORD, current=user_password, new=NEW_PASSWORD))[
            "changePassword"
        ]
        configuration = {"api_key": "sk-live-123", "nested": {"password": "p"}, "temperature": 0.1}
        program = (
            await admin.data(
                CREATE_PROGRAM,
                input={
                    "name": unique("p"),
                    "signatureSpec": "question -> answer",
                    "configuration": configuration,
                },
            )
        )["createProgram"]
        await admin.data(
            UPDATE_PROGRAM,
            id=program["id"],
            input={"configuration": {"apiKey": "sk-live-456", "temperature": 0.3}},
        )
        await admin.data(
            UPDATE_METRICS, id=program["id"], metrics={"auth_token": "tok-789", "accuracy": 1}
        )
        await admin.data(
            UPDATE_ORGANIZATION, input={"settings": {"openai_secret": "sk-org-000", "tier": 2}}
        )

        rows = await every_row(admin)
        logged = json.dumps(rows)

        secret = key["secret"]
        for value in (
            secret,
            secret.split("_", 2)[2],  # dsx_<prefix>_<secret>
            user_password,
            NEW_PASSWORD,
            signed_in["token"],
            changed["token"],
            "sk-live-123",
            "sk-live-456",
            "tok-789",
            "sk-org-000",
        ):
            assert value not in logged
        created = next(r for r in rows if r["action"] == "program.create")
        assert created["resourceId"] == program["id"]
        assert created["changes"]["configuration"] == {
            "api_key": "[redacted]",
            "nested": {"password": "[redacted]"},
            "temperature": 0.1,
        }
        updated = next(r for r in rows if r["action"] == "program.update")
        assert updated["changes"]["configuration"] == {
            "apiKey": "[redacted]",
            "temperature": 0.3,
        }
        metrics = next(r for r in rows if r["action"] == "program.updateMetrics")
        assert metrics["changes"] == {"metrics": {"auth_token": "[redacted]", "accuracy": 1}}
        settings = next(r for r in rows if r["action"] == "organization.update")
        assert settings["changes"] == {"settings": {"openai_secret": "[redacted]", "tier": 2}}

    async def test_what_the_program_holds_is_not_redacted(self, team: Team) -> None:
        configuration = {"api_key": "sk-live-123", "nested": {"password": "p"}, "temperature": 0.1}

        program = await create_program(team.admin, configuration=configuration, ready=False)

        assert program["configuration"] == configuration


# --- immutability --------------------------------------------------------------------------


async def commit(engine: AsyncEngine, statement: str, organization: uuid.UUID) -> None:
    """Run `statement` on one organization's rows and commit, as someone with the database's
    credentials could."""
    query = text(statement).bindparams(bindparam("organization", type_=Uuid()))
    async with engine.connect() as connection:
        await connection.execute(query, {"organization": organization})
        await connection.commit()


TAMPERING = {
    "update": "UPDATE audit_logs SET action = 'x' WHERE organization_id = :organization",
    "delete": "DELETE FROM audit_logs WHERE organization_id = :organization",
}


class TestImmutability:
    @pytest.mark.parametrize("how", list(TAMPERING))
    async def test_the_database_refuses_to_change_rows(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient, how: str
    ) -> None:
        await create_signature(client)
        before = await every_row(client)
        engine: AsyncEngine = app.state.runtime.engine

        with pytest.raises(DBAPIError, match="audit log rows are immutable"):
            await commit(engine, TAMPERING[how], uuid.UUID(tenant.organization_id))

        assert len(before) == 3
        assert await every_row(client) == before

    @pytest.mark.parametrize(
        "statement", ["UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs"]
    )
    async def test_statements_on_the_whole_table_are_refused(
        self, app: FastAPI, client: GraphQLClient, statement: str
    ) -> None:
        before = await every_row(client)
        engine: AsyncEngine = app.state.runtime.engine

        async with engine.connect() as connection:  # never committed, whatever happens
            with pytest.raises(DBAPIError, match="audit log rows are immutable"):
                await connection.execute(text(statement))

        assert await every_row(client) == before

    async def test_truncate_is_refused_on_postgresql(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        engine: AsyncEngine = app.state.runtime.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("TRUNCATE is a PostgreSQL statement")
        before = await every_row(client)

        async with engine.connect() as connection:  # never committed, whatever happens
            with pytest.raises(DBAPIError, match="audit log rows are immutable"):
                await connection.execute(text("TRUNCATE audit_logs"))

        assert await every_row(client) == before

    async def test_no_mutation_touches_the_audit_log(self, client: GraphQLClient) -> None:
        data = await client.data(
            """{ __schema { mutationType { fields { name
              type { ofType { name possibleTypes { name } } } } } } }"""
        )

        fields = data["__schema"]["mutationType"]["fields"]
        assert len(fields) > 20
        for field in fields:
            assert "audit" not in field["name"].lower()
            results = field["type"]["ofType"]["possibleTypes"] or [field["type"]["ofType"]]
            assert "AuditLog" not in {result["name"] for result in results}


# --- reading the log -----------------------------------------------------------------------


class TestWhoReadsTheLog:
    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_only_admins(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        errors = await someone.client.errors("{ auditLogs { totalCount nodes { id } } }")

        assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"]
        assert errors[0]["message"] == "Only admins can read the audit log"

    async def test_not_without_a_credential(self, client: GraphQLClient) -> None:
        errors = await client.acting_as(None).errors("{ auditLogs { totalCount } }")

        assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"]


@dataclass(frozen=True)
class History:
    """A log written in a known order, and another organization's beside it."""

    team: Team
    first: Node
    """Admin's signature, created then updated."""
    second: Node
    """Admin's signature."""
    alices: Node
    """Alice's signature."""
    other_admin: GraphQLClient
    other_signature: Node


@pytest.fixture(scope="class")
async def history(team: Team) -> AsyncIterator[History]:
    admin = team.admin
    first = await create_signature(admin)
    second = await create_signature(admin)
    await admin.data(UPDATE_SIGNATURE, id=first["id"], input={"description": "d"})
    alices = await create_signature(team.alice.client)
    other = await new_tenant(team.app)
    async with GraphQLClient.for_app(team.app, other.admin_key) as other_admin:
        other_signature = await create_signature(other_admin)
        await other_admin.data(UPDATE_SIGNATURE, id=other_signature["id"], input={"name": "o"})
        yield History(team, first, second, alices, other_admin, other_signature)


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


class TestReadingTheLog:
    async def test_newest_first_by_default(self, history: History) -> None:
        rows = await every_row(history.team.admin)

        moments = [parse(row["createdAt"]) for row in rows]
        assert moments == sorted(moments, reverse=True)
        assert rows[0]["resourceId"] == history.alices["id"]
        first_two = {row["action"] for row in rows[-2:]}  # one transaction: their order may tie
        assert first_two == {"organization.create", "apiKey.create"}

    async def test_oldest_first_when_asked(self, history: History) -> None:
        newest_first = await every_row(history.team.admin)

        oldest_first = await every_row(
            history.team.admin, orderBy=[{"field": "CREATED_AT", "direction": "ASC"}]
        )

        assert [row["id"] for row in oldest_first] == [row["id"] for row in newest_first][::-1]

    @pytest.mark.parametrize("size", [1, 2, 3, 5])
    async def test_pages_give_every_row_once(self, history: History, size: int) -> None:
        admin = history.team.admin
        everything = await logs(admin, first=1000)

        walked: list[str] = []
        after = None
        while True:
            page = await logs(admin, first=size, after=after)
            assert page["totalCount"] == everything["totalCount"]
            assert len(page["nodes"]) <= size
            assert [edge["node"]["id"] for edge in page["edges"]] == [
                row["id"] for row in page["nodes"]
            ]
            walked += [row["id"] for row in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

        assert walked == [row["id"] for row in everything["nodes"]]
        assert len(walked) == everything["totalCount"]

    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({"action": {"eq": "signature.create"}}, ["alices", "second", "first"]),
            ({"action": {"startsWith": "signature."}}, ["alices", "first:u", "second", "first"]),
            ({"resourceType": {"eq": "Signature"}}, ["alices", "first:u", "second", "first"]),
            ({"resourceId": {"eq": "first"}}, ["first:u", "first"]),
            ({"resourceId": {"in": ["second", "alices"]}}, ["alices", "second"]),
            (
                {
                    "and": [
                        {"resourceType": {"eq": "Signature"}},
                        {"not": {"action": {"eq": "signature.create"}}},
                    ]
                },
                ["first:u"],
            ),
            (
                {"or": [{"action": {"eq": "signature.update"}}, {"resourceId": {"eq": "second"}}]},
                ["first:u", "second"],
            ),
        ],
    )
    async def test_filters(self, history: History, filter: Node, expected: list[str]) -> None:
        names = {
            "first": history.first["id"],
            "second": history.second["id"],
            "alices": history.alices["id"],
        }

        found = await logs(history.team.admin, filter=resolved(filter, names), first=1000)

        described = [names_of(row, names) for row in found["nodes"]]
        assert described == expected
        assert found["totalCount"] == len(expected)

    async def test_filter_by_actor(self, history: History) -> None:
        team = history.team

        found = await logs(team.admin, filter={"actorId": {"eq": team.alice.id}}, first=1000)

        assert [row["action"] for row in found["nodes"]] == [
            "signature.create",
            "apiKey.create",
            "auth.signIn",
        ]
        assert {row["actor"]["id"] for row in found["nodes"]} == {team.alice.id}
        assert found["nodes"][0]["resourceId"] == history.alices["id"]
        created = await logs(
            team.admin,
            filter={"resourceId": {"eq": team.alice.id}, "action": {"eq": "user.create"}},
        )
        assert [row["actor"] for row in created["nodes"]] == [{"id": team.tenant.admin_id}]

    async def test_filter_by_time(self, history: History) -> None:
        admin = history.team.admin
        rows = await every_row(admin)
        middle = rows[len(rows) // 2]["createdAt"]
        moment = parse(middle)

        later = await every_row(admin, filter={"createdAt": {"gt": middle}})
        earlier = await every_row(admin, filter={"createdAt": {"lte": middle}})

        assert [row["id"] for row in later] == [
            row["id"] for row in rows if parse(row["createdAt"]) > moment
        ]
        assert [row["id"] for row in earlier] == [
            row["id"] for row in rows if parse(row["createdAt"]) <= moment
        ]
        assert later
        assert earlier

    async def test_another_organizations_rows_never_appear(self, history: History) -> None:
        team = history.team
        other_id = history.other_signature["id"]

        ours = await every_row(team.admin)
        by_id = await logs(team.admin, filter={"resourceId": {"eq": other_id}})
        theirs = await every_row(history.other_admin)

        assert other_id not in {row["resourceId"] for row in ours}
        assert by_id["totalCount"] == 0
        assert by_id["nodes"] == []
        assert {row["id"] for row in ours}.isdisjoint({row["id"] for row in theirs})
        actions = [row["action"] for row in theirs]
        assert actions[:2] == ["signature.update", "signature.create"]
        assert sorted(actions[2:]) == ["apiKey.create", "organization.create"]


def resolved(filter: Any, names: dict[str, str]) -> Any:
    """The filter with resource names replaced by their ids."""
    if isinstance(filter, dict):
        return {
            key: resolved(value, names) if key != "resourceId" else resolved_ids(value, names)
            for key, value in filter.items()
        }
    if isinstance(filter, list):
        return [resolved(item, names) for item in filter]
    return filter


def resolved_ids(operators: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {
        op: [names[v] for v in value] if isinstance(value, list) else names[value]
        for op, value in operators.items()
    }


def names_of(row: Node, names: dict[str, str]) -> str:
    """`first`, or `first:u` for its update: which of the history's rows this is."""
    name = next(name for name, id in names.items() if id == row["resourceId"])
    return f"{name}:u" if row["action"] == "signature.update" else name

"""Changes to users, passwords, API keys and the organization, signing in and signing up are
audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from dspex_gql.app import create_app
from dspex_gql.config import AuthSettings
from tests.audit.helpers import (
    CHANGE_PASSWORD,
    CLIENT_ADDRESS,
    CREATE_KEY,
    CREATE_USER,
    NEW_PASSWORD,
    SIGN_IN,
    SIGN_UP,
    UPDATE_ORGANIZATION,
    USER_AGENT,
    Team,
    by_id,
    check_row,
    every_row,
    send,
)
from tests.support.app import TEST_JWT_SECRET, make_settings
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member

UPDATE_USER = """mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) {
  __typename ... on Error { message code } } }"""

REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on Error { message code } } }"""


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

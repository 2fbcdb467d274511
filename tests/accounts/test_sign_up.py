"""Signing up: a new organization and its first admin, when the service allows it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dspex_gql.config import AuthSettings, Settings
from tests.accounts.helpers import (
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    ORGANIZATION,
    create_key,
    create_user,
    email,
    kind,
    problems,
    sign_in,
    update_user,
    users,
)
from tests.support.app import TEST_JWT_SECRET, make_settings
from tests.support.factories import errors
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member
from tests.support.tenants import Tenant

SIGN_UP = (
    "mutation($input: SignUpInput!) { signUp(input: $input) {"
    " __typename ... on AuthPayload { token expiresAt"
    " user { id email name role organization { id name slug } } }"
    f" {errors('ValidationError')} }} }}"
)


class TestSignUpDisabled:
    async def test_is_forbidden_by_default(self, client: GraphQLClient) -> None:
        given = {
            "organizationName": "Acme",
            "name": "Ann",
            "email": email(),
            "password": PASSWORD,
        }

        result = (await client.acting_as(None).data(SIGN_UP, input=given))["signUp"]

        assert kind(result) == FORBIDDEN
        assert result["message"] == "Sign-up is disabled on this service"
        assert (await sign_in(client, given["email"], PASSWORD))["__typename"] == "ValidationError"


class TestSignUp:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        auth = AuthSettings(
            allow_signup=True,
            jwt_secret=TEST_JWT_SECRET,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
        )
        return make_settings(database_url, auth=auth)

    async def sign_up(self, client: GraphQLClient, **fields: Any) -> dict[str, Any]:
        given = {
            "organizationName": f"Acme {uuid.uuid4().hex[:8]}",
            "name": "Ann",
            "email": email(),
            "password": PASSWORD,
        } | fields
        result: dict[str, Any] = (await client.acting_as(None).data(SIGN_UP, input=given))["signUp"]
        return result

    async def test_creates_an_organization_and_its_first_admin(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        stem = uuid.uuid4().hex[:8]
        address = email()

        signed_up = await self.sign_up(
            client, organizationName=f" Acme & Co. {stem}! ", name=" Ann ", email=address.upper()
        )

        assert signed_up["__typename"] == "AuthPayload"
        user = signed_up["user"]
        assert (user["email"], user["name"], user["role"]) == (address, "Ann", "ADMIN")
        as_admin = client.acting_as(signed_up["token"])
        organization = (await as_admin.data(ORGANIZATION))["organization"]
        assert user["organization"] == {
            "id": organization["id"],
            "name": organization["name"],
            "slug": organization["slug"],
        }
        assert organization["id"] != tenant.organization_id
        assert (organization["name"], organization["slug"]) == (
            f"Acme & Co. {stem}!",
            f"acme-co-{stem}",
        )
        assert organization["totalExecutions"] == 0
        assert [node["id"] for node in (await users(as_admin))["nodes"]] == [
            signed_up["user"]["id"]
        ]
        assert (await sign_in(client, address, PASSWORD))["__typename"] == "AuthPayload"

    async def test_slugs_are_made_unique(self, client: GraphQLClient) -> None:
        name = f"Twins {uuid.uuid4().hex[:8]}"
        slugs = []
        for _ in range(3):
            signed_up = await self.sign_up(client, organizationName=name)
            as_admin = client.acting_as(signed_up["token"])
            slugs.append((await as_admin.data(ORGANIZATION))["organization"]["slug"])

        stem = name.lower().replace(" ", "-")
        assert slugs == [stem, f"{stem}-2", f"{stem}-3"]

    async def test_a_taken_email_is_a_conflict(self, client: GraphQLClient, tenant: Tenant) -> None:
        someone = await member(client)

        results = [
            await self.sign_up(client, email=tenant.admin_email),
            await self.sign_up(client, email=someone.email.upper()),
        ]

        assert [kind(result) for result in results] == [CONFLICT] * 2

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"email": "no-at-sign"}, "email"),
            ({"password": "too short"}, "password"),
            ({"name": "  "}, "name"),
            ({"organizationName": ""}, "organizationName"),
            ({"organizationName": "o" * 201}, "organizationName"),
        ],
    )
    async def test_bad_input_is_a_validation_error(
        self, client: GraphQLClient, fields: dict[str, Any], field: str
    ) -> None:
        result = await self.sign_up(client, **fields)

        assert list(problems(result)) == [field]

    async def test_the_new_admin_runs_its_own_organization(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        signed_up = await self.sign_up(client)
        as_admin = client.acting_as(signed_up["token"])

        created = await create_user(as_admin, password=PASSWORD)
        key = await create_key(as_admin)

        assert created["__typename"] == "User"
        assert key["__typename"] == "NewApiKey"
        assert kind(await update_user(as_admin, tenant.admin_id, name="x")) == NOT_FOUND

"""Signing in, and changing one's password."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
    CHANGE_PASSWORD,
    ME,
    SIGN_IN,
    at,
    create_user,
    deactivate,
    email,
    problems,
    sign_in,
    users,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member
from tests.support.tenants import Tenant, new_tenant


class TestChangePassword:
    async def test_returns_a_fresh_token(self, client: GraphQLClient) -> None:
        someone = await member(client)

        changed = (
            await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new="another passphrase")
        )["changePassword"]

        assert changed["__typename"] == "AuthPayload"
        assert changed["user"]["id"] == someone.id
        assert changed["token"] != someone.token
        assert at(changed["expiresAt"]) > datetime.now(UTC)

    async def test_a_wrong_current_password_is_a_validation_error(
        self, client: GraphQLClient
    ) -> None:
        someone = await member(client)

        result = (
            await someone.client.data(CHANGE_PASSWORD, current="wrong password", new="long enough!")
        )["changePassword"]

        assert problems(result) == {"currentPassword": "invalid"}

    @pytest.mark.parametrize("new", ["short", "", "x" * 257])
    async def test_a_weak_new_password_is_a_validation_error(
        self, client: GraphQLClient, new: str
    ) -> None:
        someone = await member(client)

        result = (await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new=new))[
            "changePassword"
        ]

        assert problems(result) == {"newPassword": "weak_password"}
        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "AuthPayload"

    async def test_a_user_without_a_password_has_no_current_one(
        self, client: GraphQLClient
    ) -> None:
        """The first admin has only an API key: no current password is right."""
        result = (await client.data(CHANGE_PASSWORD, current="", new="a first password"))[
            "changePassword"
        ]

        assert problems(result) == {"currentPassword": "invalid"}


class TestSignIn:
    async def test_returns_a_token_and_the_user(self, client: GraphQLClient) -> None:
        someone = await member(client, "VIEWER")

        signed_in = await sign_in(client, someone.email, PASSWORD)

        assert signed_in["__typename"] == "AuthPayload"
        assert (signed_in["user"]["id"], signed_in["user"]["role"]) == (someone.id, "VIEWER")
        assert signed_in["user"]["lastLoginAt"] is not None
        assert (await client.acting_as(signed_in["token"]).data(ME))["me"]["id"] == someone.id

    async def test_the_payloads_user_shows_its_own_organization(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        """Whatever credential the caller happens to send along (or none)."""
        someone = await member(client)
        stranger = client.acting_as((await new_tenant(app)).admin_key)

        anonymous = await sign_in(client, someone.email, PASSWORD)
        with_other_key = (await stranger.data(SIGN_IN, email=someone.email, password=PASSWORD))[
            "signIn"
        ]

        assert anonymous["user"]["organization"] == {"id": tenant.organization_id}
        assert with_other_key["user"]["organization"] == {"id": tenant.organization_id}

    async def test_the_email_is_case_insensitive(self, client: GraphQLClient) -> None:
        someone = await member(client)

        signed_in = await sign_in(client, f"  {someone.email.upper()} ", PASSWORD)

        assert signed_in["user"]["id"] == someone.id

    async def test_one_generic_error_for_every_bad_credential(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        someone = await member(client)
        inactive = await member(client)
        await deactivate(client, inactive.id)

        results = {
            "unknown email": await sign_in(client, email(), PASSWORD),
            "wrong password": await sign_in(client, someone.email, PASSWORD + "!"),
            "inactive user": await sign_in(client, inactive.email, PASSWORD),
            "no password": await sign_in(client, tenant.admin_email, PASSWORD),
            "empty password": await sign_in(client, tenant.admin_email, ""),
        }

        assert all(result == results["unknown email"] for result in results.values()), results
        generic = results["unknown email"]
        assert (generic["__typename"], generic["code"]) == ("ValidationError", "VALIDATION_FAILED")
        assert "Invalid email or password" in generic["message"]
        assert generic["fieldErrors"] == [
            {
                "field": "credentials",
                "message": "Invalid email or password",
                "code": "invalid_credentials",
            }
        ]

    async def test_a_failed_sign_in_leaves_last_login_at_alone(self, client: GraphQLClient) -> None:
        created = await create_user(client, password=PASSWORD)

        await sign_in(client, created["email"], "not the password")

        listed = await users(client, filter={"email": {"eq": created["email"]}})
        assert listed["nodes"][0]["lastLoginAt"] is None

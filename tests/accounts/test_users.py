"""The signed-in user, the organization's users, and creating, updating and deactivating them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
    CONFLICT,
    FORBIDDEN,
    ME,
    NOT_FOUND,
    USERS,
    at,
    create_user,
    deactivate,
    email,
    kind,
    problems,
    sign_in,
    update_user,
    users,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member
from tests.support.tenants import Tenant, new_tenant


class TestMe:
    @pytest.mark.parametrize("role", ["ADMIN", "USER", "VIEWER"])
    async def test_is_the_signed_in_user(
        self, client: GraphQLClient, tenant: Tenant, role: str
    ) -> None:
        someone = await member(client, role, name="Someone")

        me = (await someone.client.data(ME))["me"]

        assert me["id"] == someone.id
        assert (me["email"], me["name"], me["role"], me["active"]) == (
            someone.email,
            "Someone",
            role,
            True,
        )
        assert me["organization"] == {"id": tenant.organization_id, "slug": tenant.slug}

    async def test_last_login_at_is_set_by_signing_in(self, client: GraphQLClient) -> None:
        created = await create_user(client, password=PASSWORD)
        assert created["lastLoginAt"] is None
        before = datetime.now(UTC)

        signed_in = await sign_in(client, created["email"], PASSWORD)
        me = (await client.acting_as(signed_in["token"]).data(ME))["me"]

        assert before - timedelta(seconds=1) <= at(me["lastLoginAt"]) <= datetime.now(UTC)
        assert at(me["createdAt"]) <= at(me["lastLoginAt"])


class TestUsers:
    async def test_an_admin_lists_the_organizations_users(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        user, viewer = await member(client, "USER"), await member(client, "VIEWER")
        await new_tenant(app)  # another organization's users never show

        listed = await users(client)

        assert listed["totalCount"] == 3
        assert {node["id"] for node in listed["nodes"]} == {tenant.admin_id, user.id, viewer.id}

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_others_get_a_top_level_forbidden(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        body = await someone.client.execute(USERS)

        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]

    async def test_filters_by_role_email_and_active(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        viewer = await member(client, "VIEWER")
        user = await member(client, "USER")
        gone = await member(client, "USER")
        await deactivate(client, gone.id)

        async def ids(filter: dict[str, Any]) -> set[str]:
            return {node["id"] for node in (await users(client, filter=filter))["nodes"]}

        assert await ids({"role": {"eq": "VIEWER"}}) == {viewer.id}
        assert await ids({"role": {"in": ["ADMIN", "VIEWER"]}}) == {tenant.admin_id, viewer.id}
        assert await ids({"email": {"eq": user.email}}) == {user.id}
        assert await ids({"email": {"contains": user.email.split("@")[0].upper()}}) == {user.id}
        assert await ids({"active": {"eq": False}}) == {gone.id}
        assert await ids({"active": {"eq": True}, "role": {"eq": "USER"}}) == {user.id}

    async def test_pages_through_with_cursors(self, client: GraphQLClient) -> None:
        for _ in range(4):
            assert (await create_user(client))["__typename"] == "User"
        order = [{"field": "EMAIL", "direction": "DESC"}]

        first = await users(client, first=2, orderBy=order)
        second = await users(client, first=2, orderBy=order, after=first["pageInfo"]["endCursor"])
        third = await users(client, first=2, orderBy=order, after=second["pageInfo"]["endCursor"])

        emails = [node["email"] for page in (first, second, third) for node in page["nodes"]]
        everyone = [node["email"] for node in (await users(client))["nodes"]]
        assert emails == sorted(everyone, reverse=True)
        assert [page["totalCount"] for page in (first, second, third)] == [5, 5, 5]
        assert [page["pageInfo"]["hasNextPage"] for page in (first, second, third)] == [
            True,
            True,
            False,
        ]


class TestCreateUser:
    async def test_an_admin_creates_a_user(self, client: GraphQLClient) -> None:
        address = email()

        created = await create_user(client, email=f"  {address.upper()} ", name=" Ada ")

        assert created["__typename"] == "User"
        assert (created["email"], created["name"], created["role"]) == (address, "Ada", "USER")
        assert created["active"] is True
        assert created["lastLoginAt"] is None
        listed = await users(client, filter={"email": {"eq": address}})
        assert [node["id"] for node in listed["nodes"]] == [created["id"]]

    @pytest.mark.parametrize("role", ["ADMIN", "USER", "VIEWER"])
    async def test_with_any_role(self, client: GraphQLClient, role: str) -> None:
        created = await create_user(client, role=role)

        assert created["role"] == role

    async def test_a_password_of_ten_characters_is_enough(self, client: GraphQLClient) -> None:
        created = await create_user(client, password="0123456789")

        assert created["__typename"] == "User"
        assert (await sign_in(client, created["email"], "0123456789"))["__typename"] == (
            "AuthPayload"
        )

    @pytest.mark.parametrize(
        ("fields", "field", "code"),
        [
            ({"email": "not-an-email"}, "email", "invalid"),
            ({"email": "two words@example.test"}, "email", "invalid"),
            ({"email": "@example.test"}, "email", "invalid"),
            ({"email": ""}, "email", "invalid"),
            ({"password": "012345678"}, "password", "weak_password"),
            ({"password": "x" * 257}, "password", "weak_password"),
            ({"name": ""}, "name", "required"),
            ({"name": "   "}, "name", "required"),
            ({"name": "n" * 201}, "name", "too_long"),
        ],
    )
    async def test_bad_input_is_a_validation_error(
        self, client: GraphQLClient, fields: dict[str, Any], field: str, code: str
    ) -> None:
        before = (await users(client))["totalCount"]

        result = await create_user(client, **fields)

        assert problems(result) == {field: code}
        assert (await users(client))["totalCount"] == before

    async def test_a_taken_email_is_a_conflict_in_any_case_and_organization(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        taken = (await create_user(client))["email"]
        other = client.acting_as((await new_tenant(app)).admin_key)

        same = await create_user(client, email=taken)
        shouted = await create_user(client, email=taken.upper())
        elsewhere = await create_user(other, email=taken)
        an_admins = await create_user(other, email=tenant.admin_email)

        assert [kind(result) for result in (same, shouted, elsewhere, an_admins)] == [CONFLICT] * 4
        assert same["message"] == "A user with this email already exists"

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_only_admins_create_users(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        result = await create_user(someone.client, role="ADMIN")

        assert kind(result) == FORBIDDEN
        assert (await users(client))["totalCount"] == 2


class TestUpdateUser:
    async def test_a_user_changes_its_own_name_and_email(self, client: GraphQLClient) -> None:
        someone = await member(client)
        address = email()

        updated = await update_user(
            someone.client, someone.id, name="New Name", email=address.upper()
        )

        assert (updated["name"], updated["email"], updated["role"]) == ("New Name", address, "USER")
        assert (await sign_in(client, address, PASSWORD))["__typename"] == "AuthPayload"
        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "ValidationError"

    async def test_a_user_cannot_change_its_own_role(self, client: GraphQLClient) -> None:
        someone = await member(client)

        result = await update_user(someone.client, someone.id, role="ADMIN")

        assert kind(result) == FORBIDDEN
        assert (await someone.client.data(ME))["me"]["role"] == "USER"

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_a_non_admin_cannot_change_others(
        self, client: GraphQLClient, tenant: Tenant, role: str
    ) -> None:
        someone, other = await member(client, role), await member(client, "USER")

        results = [
            await update_user(someone.client, other.id, name="Renamed"),
            await update_user(someone.client, tenant.admin_id, email=email()),
        ]

        assert [kind(result) for result in results] == [FORBIDDEN] * 2
        assert (await users(client, filter={"name": {"eq": "Renamed"}}))["totalCount"] == 0

    async def test_an_admin_changes_anyones_role_at_once(self, client: GraphQLClient) -> None:
        someone = await member(client, "VIEWER")

        promoted = await update_user(client, someone.id, role="ADMIN", name="Boss")

        assert (promoted["role"], promoted["name"]) == ("ADMIN", "Boss")
        assert (await users(someone.client))["totalCount"] == 2, "its key is an admin's now"

    async def test_the_last_active_admin_stays_an_admin(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        demoted = await update_user(client, tenant.admin_id, role="USER")
        deactivated = await deactivate(client, tenant.admin_id)

        assert kind(demoted) == kind(deactivated) == CONFLICT
        assert demoted["message"] == "An organization needs at least one active admin"
        assert (await client.data(ME))["me"]["role"] == "ADMIN"

    async def test_with_another_admin_one_may_step_down_but_not_both(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        deputy = await member(client, "ADMIN")

        stepped_down = await update_user(client, tenant.admin_id, role="USER")
        last = await update_user(deputy.client, deputy.id, role="VIEWER")
        last_deactivated = await deactivate(deputy.client, deputy.id)

        assert stepped_down["role"] == "USER"
        assert kind(last) == kind(last_deactivated) == CONFLICT

    async def test_an_inactive_admin_does_not_count(self, client: GraphQLClient) -> None:
        deputy = await member(client, "ADMIN")
        assert (await deactivate(client, deputy.id))["active"] is False

        demoted = await update_user(client, (await client.data(ME))["me"]["id"], role="USER")

        assert kind(demoted) == CONFLICT

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"role": None}, "role"),
            ({"email": None}, "email"),
            ({"email": "nope"}, "email"),
            ({"name": None}, "name"),
            ({"name": " "}, "name"),
        ],
    )
    async def test_bad_input_is_a_validation_error(
        self, client: GraphQLClient, changes: dict[str, Any], field: str
    ) -> None:
        someone = await member(client)

        result = await update_user(client, someone.id, **changes)

        assert field in problems(result)

    async def test_a_taken_email_is_a_conflict(self, client: GraphQLClient, tenant: Tenant) -> None:
        someone = await member(client)

        result = await update_user(someone.client, someone.id, email=tenant.admin_email.upper())
        unchanged = await update_user(someone.client, someone.id, email=someone.email.upper())

        assert kind(result) == CONFLICT
        assert unchanged["email"] == someone.email, "its own email, in another case, is no change"

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-an-id"])
    async def test_an_unknown_user_is_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await update_user(client, id, name="Ghost")

        assert kind(result) == NOT_FOUND
        assert result["id"] == id

    async def test_another_organizations_user_is_not_found(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        other = await new_tenant(app)

        result = await update_user(client, other.admin_id, name="Taken over")

        assert kind(result) == NOT_FOUND


class TestDeactivateUser:
    async def test_an_admin_deactivates_a_user(self, client: GraphQLClient) -> None:
        someone = await member(client)

        deactivated = await deactivate(client, someone.id)
        again = await deactivate(client, someone.id)

        assert (deactivated["id"], deactivated["active"]) == (someone.id, False)
        assert kind(again) == CONFLICT
        assert again["message"] == "The user is already deactivated"
        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "ValidationError"

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_only_admins_deactivate(
        self, client: GraphQLClient, tenant: Tenant, role: str
    ) -> None:
        someone, other = await member(client, role), await member(client, "USER")

        results = [
            await deactivate(someone.client, other.id),
            await deactivate(someone.client, someone.id),
            await deactivate(someone.client, tenant.admin_id),
        ]

        assert [kind(result) for result in results] == [FORBIDDEN] * 3
        assert (await users(client, filter={"active": {"eq": False}}))["totalCount"] == 0

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "42"])
    async def test_an_unknown_user_is_not_found(self, client: GraphQLClient, id: str) -> None:
        assert kind(await deactivate(client, id)) == NOT_FOUND

    async def test_another_organizations_user_is_not_found(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        other = await new_tenant(app)

        assert kind(await deactivate(client, other.admin_id)) == NOT_FOUND
        assert await client.acting_as(other.admin_key).data(ME)

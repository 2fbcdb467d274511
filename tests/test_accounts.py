"""Account operations: the signed-in user, its organization, users, passwords and API keys."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.config import AuthSettings, Settings
from tests.support.app import TEST_JWT_SECRET, make_settings
from tests.support.factories import create_program, errors, execute
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member
from tests.support.tenants import Tenant, new_tenant

USER = "id email name role active lastLoginAt createdAt"
ME = f"{{ me {{ {USER} organization {{ id slug }} }} }}"
ORGANIZATION = """{ organization { id name slug settings computeQuotaSeconds computeUsedSeconds
  totalExecutions } }"""
USERS = f"""query($filter: UserFilter, $orderBy: [UserOrder!], $first: Int! = 50, $after: String) {{
  users(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    totalCount nodes {{ {USER} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
API_KEYS = "{ apiKeys { id name prefix createdAt lastUsedAt expiresAt revokedAt } }"

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
SIGN_UP = (
    "mutation($input: SignUpInput!) { signUp(input: $input) {"
    " __typename ... on AuthPayload { token expiresAt"
    " user { id email name role organization { id name slug } } }"
    f" {errors('ValidationError')} }} }}"
)
CREATE_API_KEY = (
    "mutation($name: String!, $expiresAt: DateTime) {"
    " createApiKey(name: $name, expiresAt: $expiresAt) {"
    " __typename ... on NewApiKey { secret apiKey"
    " { id name prefix createdAt lastUsedAt expiresAt revokedAt } }"
    f" {errors('ValidationError')} }} }}"
)
REVOKE_API_KEY = (
    "mutation($id: ID!) { revokeApiKey(id: $id) {"
    " __typename ... on ApiKey { id name revokedAt }"
    f" {errors('NotFoundError')} }} }}"
)
UPDATE_ORGANIZATION = (
    "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) {"
    " __typename ... on Organization { id name slug settings }"
    f" {errors('ValidationError')} }} }}"
)
KEY = re.compile(r"dsx_([0-9a-f]{12})_(\S+)")
PLUS_TWO = timezone(timedelta(hours=2))


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


async def revoke(client: GraphQLClient, id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(REVOKE_API_KEY, id=id))["revokeApiKey"]
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


class TestOrganization:
    async def test_shows_the_actors_organization(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        viewer = await member(client, "VIEWER")

        organization = (await viewer.client.data(ORGANIZATION))["organization"]

        assert organization == {
            "id": tenant.organization_id,
            "name": organization["name"],
            "slug": tenant.slug,
            "settings": {},
            "computeQuotaSeconds": None,
            "computeUsedSeconds": 0.0,
            "totalExecutions": 0,
        }
        assert tenant.slug == organization["name"], "made from a slug-safe name"

    async def test_counts_its_executions_only(self, app: FastAPI, client: GraphQLClient) -> None:
        program = await create_program(client)
        for _ in range(2):
            assert (await execute(client, program["id"], wait=True))["status"] == "COMPLETED"
        other = await new_tenant(app)

        ours = (await client.data(ORGANIZATION))["organization"]
        theirs = (await client.acting_as(other.admin_key).data(ORGANIZATION))["organization"]

        assert ours["totalExecutions"] == 2
        assert ours["computeUsedSeconds"] >= 0
        assert theirs["totalExecutions"] == 0

    async def test_its_users_are_for_admins(self, client: GraphQLClient) -> None:
        someone = await member(client)
        query = "{ organization { users(first: 10) { totalCount nodes { id } } } }"

        listed = (await client.data(query))["organization"]["users"]
        refused = await someone.client.errors(query)

        assert listed["totalCount"] == 2
        assert someone.id in {node["id"] for node in listed["nodes"]}
        assert refused[0]["extensions"]["code"] == "FORBIDDEN"


class TestUpdateOrganization:
    async def test_an_admin_changes_name_and_settings(self, client: GraphQLClient) -> None:
        settings = {"defaultAdapter": "mock", "limits": {"max": 3}}

        updated = (
            await client.data(
                UPDATE_ORGANIZATION, input={"name": " Renamed ", "settings": settings}
            )
        )["updateOrganization"]
        organization = (await client.data(ORGANIZATION))["organization"]

        assert updated["__typename"] == "Organization"
        assert (organization["name"], organization["settings"]) == ("Renamed", settings)
        assert organization["slug"] == updated["slug"], "the slug stays"

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_others_are_forbidden(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        result = (await someone.client.data(UPDATE_ORGANIZATION, input={"name": "Mine now"}))[
            "updateOrganization"
        ]

        assert kind(result) == FORBIDDEN
        assert (await client.data(ORGANIZATION))["organization"]["name"] != "Mine now"

    @pytest.mark.parametrize(
        ("given", "field"),
        [
            ({"settings": [1, 2]}, "settings"),
            ({"settings": "text"}, "settings"),
            ({"settings": 3}, "settings"),
            ({"settings": None}, "settings"),
            ({"name": "  "}, "name"),
            ({"name": None}, "name"),
        ],
    )
    async def test_bad_input_is_a_validation_error(
        self, client: GraphQLClient, given: dict[str, Any], field: str
    ) -> None:
        result = (await client.data(UPDATE_ORGANIZATION, input=given))["updateOrganization"]

        assert field in problems(result)
        assert (await client.data(ORGANIZATION))["organization"]["settings"] == {}


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


class TestApiKeys:
    async def test_lists_only_the_actors_own_keys(self, client: GraphQLClient) -> None:
        someone = await member(client)
        another = await create_key(someone.client, "second")

        admins = (await client.data(API_KEYS))["apiKeys"]
        theirs = (await someone.client.data(API_KEYS))["apiKeys"]

        assert [key["name"] for key in admins] == ["first admin key"]
        assert [key["id"] for key in theirs] == [someone.key_id, another["apiKey"]["id"]]

    async def test_the_secret_never_appears_again(self, client: GraphQLClient) -> None:
        created = await create_key(client, "shown once")
        secret = KEY.fullmatch(created["secret"])
        assert secret is not None
        await revoke(client, created["apiKey"]["id"])

        seen = [
            await client.data(API_KEYS),
            await client.data(ME),
            await client.data(
                "{ auditLogs { nodes { action resourceId changes metadata } } }",
            ),
        ]

        assert secret.group(2) not in json.dumps(seen)
        actions = {node["action"] for node in seen[2]["auditLogs"]["nodes"]}
        assert {"apiKey.create", "apiKey.revoke"} <= actions


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


class TestCreateApiKey:
    async def test_returns_the_secret_once(self, client: GraphQLClient) -> None:
        created = await create_key(client, " deploy bot ")

        assert created["__typename"] == "NewApiKey"
        match = KEY.fullmatch(created["secret"])
        assert match is not None, created["secret"]
        key = created["apiKey"]
        assert match.group(1) == key["prefix"]
        assert (key["name"], key["lastUsedAt"], key["expiresAt"], key["revokedAt"]) == (
            "deploy bot",
            None,
            None,
            None,
        )
        assert at(key["createdAt"]) <= datetime.now(UTC)
        assert (await client.acting_as(created["secret"]).data(ME))["me"]["role"] == "ADMIN"

    async def test_each_key_is_different(self, client: GraphQLClient) -> None:
        one, two = await create_key(client, "same"), await create_key(client, "same")

        assert one["secret"] != two["secret"]
        assert one["apiKey"]["prefix"] != two["apiKey"]["prefix"]

    @pytest.mark.parametrize(
        "expires_at",
        [
            datetime.now(UTC) - timedelta(seconds=1),
            datetime.now(UTC) - timedelta(days=365),
            datetime(2001, 1, 1),
        ],
        ids=["a second ago", "a year ago", "naive, long ago"],
    )
    async def test_an_expiry_in_the_past_is_a_validation_error(
        self, client: GraphQLClient, expires_at: datetime
    ) -> None:
        result = await create_key(client, expiresAt=expires_at.isoformat())

        assert problems(result) == {"expiresAt": "invalid"}
        assert len((await client.data(API_KEYS))["apiKeys"]) == 1

    async def test_an_expiry_in_the_future_is_kept(self, client: GraphQLClient) -> None:
        local = datetime.now(PLUS_TWO).replace(microsecond=0) + timedelta(days=30)

        created = await create_key(client, expiresAt=local.isoformat())
        listed = (await client.data(API_KEYS))["apiKeys"][-1]

        assert at(created["apiKey"]["expiresAt"]) == local
        assert (listed["id"], at(listed["expiresAt"])) == (created["apiKey"]["id"], local)
        assert listed["expiresAt"].endswith("+00:00")

    async def test_a_naive_expiry_is_read_as_utc(self, client: GraphQLClient) -> None:
        naive = datetime(2099, 1, 1, 12, 0)

        created = await create_key(client, expiresAt=naive.isoformat())

        assert at(created["apiKey"]["expiresAt"]) == naive.replace(tzinfo=UTC)

    async def test_the_expiry_is_answered_in_utc(self, client: GraphQLClient) -> None:
        local = datetime.now(PLUS_TWO).replace(microsecond=0) + timedelta(days=30)

        created = await create_key(client, expiresAt=local.isoformat())

        assert created["apiKey"]["expiresAt"].endswith("+00:00"), created

    @pytest.mark.parametrize("name", ["", "   ", "k" * 201])
    async def test_a_bad_name_is_a_validation_error(self, client: GraphQLClient, name: str) -> None:
        assert list(problems(await create_key(client, name))) == ["name"]

    async def test_viewers_create_their_own(self, client: GraphQLClient) -> None:
        viewer = await member(client, "VIEWER")

        created = await create_key(viewer.client, "reader")

        assert created["__typename"] == "NewApiKey"
        assert (await client.acting_as(created["secret"]).data(ME))["me"]["id"] == viewer.id
        assert len((await viewer.client.data(API_KEYS))["apiKeys"]) == 2


class TestRevokeApiKey:
    async def test_revokes_the_actors_own_key(self, client: GraphQLClient) -> None:
        someone = await member(client, "VIEWER")
        before = datetime.now(UTC)

        revoked = await revoke(someone.client, someone.key_id)

        assert (revoked["__typename"], revoked["id"]) == ("ApiKey", someone.key_id)
        assert before - timedelta(seconds=1) <= at(revoked["revokedAt"]) <= datetime.now(UTC)
        listed = (await client.acting_as(someone.token).data(API_KEYS))["apiKeys"]
        assert [(key["id"], key["revokedAt"]) for key in listed] == [
            (someone.key_id, revoked["revokedAt"])
        ]

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_someone_elses_key_is_not_found_by_a_non_admin(
        self, client: GraphQLClient, tenant: Tenant, role: str
    ) -> None:
        """Other users' keys are their own business: invisible, so not even forbidden."""
        someone, other = await member(client, role), await member(client)
        admins_key = (await client.data(API_KEYS))["apiKeys"][0]["id"]

        results = [
            await revoke(someone.client, other.key_id),
            await revoke(someone.client, admins_key),
        ]

        assert [kind(result) for result in results] == [NOT_FOUND] * 2
        assert (await other.client.data(ME))["me"]["id"] == other.id
        assert (await client.data(ME))["me"]["id"] == tenant.admin_id

    async def test_an_admin_revokes_anyones(self, client: GraphQLClient) -> None:
        someone, deputy = await member(client), await member(client, "ADMIN")

        by_admin = await revoke(client, someone.key_id)
        of_an_admin = await revoke(client, deputy.key_id)

        assert by_admin["__typename"] == of_an_admin["__typename"] == "ApiKey"
        assert (await someone.client.execute(ME))["data"] is None

    async def test_twice_is_a_conflict(self, client: GraphQLClient) -> None:
        someone = await member(client)
        as_token = client.acting_as(someone.token)
        first = await revoke(as_token, someone.key_id)

        again = await revoke(as_token, someone.key_id)

        assert kind(again) == CONFLICT
        assert again["message"] == "The API key is already revoked"
        listed = (await as_token.data(API_KEYS))["apiKeys"]
        assert listed[0]["revokedAt"] == first["revokedAt"], "the first revocation's time stays"

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "garbage", ""])
    async def test_an_unknown_key_is_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await revoke(client, id)

        assert kind(result) == NOT_FOUND
        assert result["id"] == id

    async def test_another_organizations_key_is_not_found(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        other = client.acting_as((await new_tenant(app)).admin_key)
        their_key = (await other.data(API_KEYS))["apiKeys"][0]["id"]

        result = await revoke(client, their_key)

        assert kind(result) == NOT_FOUND
        assert (await other.data(API_KEYS))["apiKeys"][0]["revokedAt"] is None


class TestAuditOfAccounts:
    async def test_account_changes_are_recorded_without_secrets(
        self, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new="another passphrase")
        await update_user(client, someone.id, role="VIEWER")

        logs = await client.data(
            """query($id: ID!) { auditLogs(filter: {actorId: {eq: $id}}, first: 100) {
                 nodes { action resourceType resourceId changes actor { id } } } }""",
            id=someone.id,
        )
        admin_logs = await client.data(
            """query($id: String!) { auditLogs(filter: {resourceId: {eq: $id}}, first: 100) {
                 nodes { action changes } } }""",
            id=someone.id,
        )

        actions = [node["action"] for node in logs["auditLogs"]["nodes"]]
        assert {"auth.signIn", "apiKey.create", "user.changePassword"} <= set(actions)
        about_them = {node["action"]: node["changes"] for node in admin_logs["auditLogs"]["nodes"]}
        assert about_them["user.update"] == {"role": "VIEWER"}
        assert about_them["user.create"]["email"] == someone.email
        text = json.dumps([logs, admin_logs])
        assert PASSWORD not in text
        assert "another passphrase" not in text
        assert someone.key.split("_", 2)[2] not in text
        assert someone.token not in text

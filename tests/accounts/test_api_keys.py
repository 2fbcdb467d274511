"""API keys: listing, creating and revoking them."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import CONFLICT, ME, NOT_FOUND, at, create_key, kind, problems
from tests.support.factories import errors
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant

API_KEYS = "{ apiKeys { id name prefix createdAt lastUsedAt expiresAt revokedAt } }"

REVOKE_API_KEY = (
    "mutation($id: ID!) { revokeApiKey(id: $id) {"
    " __typename ... on ApiKey { id name revokedAt }"
    f" {errors('NotFoundError')} }} }}"
)

KEY = re.compile(r"dsx_([0-9a-f]{12})_(\S+)")
PLUS_TWO = timezone(timedelta(hours=2))


async def revoke(client: GraphQLClient, id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(REVOKE_API_KEY, id=id))["revokeApiKey"]
    return result


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

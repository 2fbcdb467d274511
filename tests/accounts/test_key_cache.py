"""A process remembers the API keys it has seen (`accounts/key_cache.py`): a request with one
reads no key from the database, and revoking the key, deactivating its user or changing their
role ends what was remembered at once — in this process and, through the hub, in the others."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from dspex_gql.accounts.key_cache import KeyCache, KnownKey
from dspex_gql.config import BroadcastSettings, Settings
from dspex_gql.identity import Role
from dspex_gql.pubsub import Hub
from dspex_gql.runtime import Runtime
from tests.support.app import make_settings, running
from tests.support.external_services import REDIS, service_url
from tests.support.fake_broker import FakeBroker
from tests.support.http_client import GraphQLClient
from tests.support.people import DEACTIVATE, REVOKE_KEY, Member, member
from tests.support.websocket_client import Socket

ME = "{ me { id role } }"
UPDATE_ROLE = """mutation($id: ID!, $role: Role!) { updateUser(id: $id, input: {role: $role}) {
  __typename ... on User { role } } }"""
CREATE_SIGNATURE = """mutation { createSignature(input: {name: "s", spec: "a -> b"}) {
  __typename ... on Error { code } } }"""


def runtime_of(app: FastAPI) -> Runtime:
    found: Runtime = app.state.runtime
    return found


@contextmanager
def key_reads(app: FastAPI, *tables: str) -> Iterator[list[str]]:
    """The statements that read `api_keys` (or `tables`) while the block runs."""
    reads: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if any(table in statement for table in tables or ("FROM api_keys",)):
            reads.append(statement)

    engine = runtime_of(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
async def someone(app: FastAPI, client: GraphQLClient) -> Member:
    await runtime_of(app).authenticator.keys.listening()
    return await member(client, "USER")


async def refused(client: GraphQLClient) -> bool:
    body = await client.execute(ME)
    return bool(body.get("errors")) and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_known_key_is_not_read_again(app: FastAPI, someone: Member) -> None:
    await someone.client.data(ME)

    with key_reads(app) as reads:
        for _ in range(3):
            assert (await someone.client.data(ME))["me"]["id"] == someone.id

    assert reads == []


async def test_operations_on_an_open_websocket_read_no_credential_either(
    app: FastAPI, client: GraphQLClient, someone: Member
) -> None:
    """Each operation on a websocket checks the credential again: from the cache, while the
    key is remembered; a revoked key still ends the socket's next operation."""
    signatures = "{ signatures(first: 1) { totalCount } }"  # reads no user
    async with Socket(app, someone.key) as socket:
        assert (await socket.run(signatures))[0]["data"] is not None
        with key_reads(app, "FROM api_keys", "FROM users") as reads:
            assert (await socket.run(signatures))[0]["data"] is not None
        assert reads == []

        await client.data(REVOKE_KEY, id=someone.key_id)

        [refused_now] = await socket.run(signatures)
        assert refused_now["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_wrong_secret_with_a_known_prefix_is_refused(someone: Member) -> None:
    await someone.client.data(ME)
    prefix, _, secret = someone.key.rpartition("_")
    forged = f"{prefix}_{'A' * len(secret)}"

    assert await refused(someone.client.acting_as(forged))
    assert (await someone.client.data(ME))["me"]["id"] == someone.id


async def test_a_revoked_key_stops_at_the_next_request(
    client: GraphQLClient, someone: Member
) -> None:
    await someone.client.data(ME)

    revoked = await client.data(REVOKE_KEY, id=someone.key_id)

    assert revoked["revokeApiKey"]["__typename"] == "ApiKey"
    assert await refused(someone.client)


async def test_a_deactivated_user_stops_at_the_next_request(
    client: GraphQLClient, someone: Member
) -> None:
    await someone.client.data(ME)

    await client.data(DEACTIVATE, id=someone.id)

    assert await refused(someone.client)


async def test_a_changed_role_applies_at_the_next_request(
    client: GraphQLClient, someone: Member
) -> None:
    created = await someone.client.data(CREATE_SIGNATURE)
    assert created["createSignature"]["__typename"] == "Signature"

    changed = await client.data(UPDATE_ROLE, id=someone.id, role="VIEWER")

    assert changed["updateUser"] == {"__typename": "User", "role": "VIEWER"}
    assert (await someone.client.data(ME))["me"]["role"] == "VIEWER"
    refused_now = await someone.client.data(CREATE_SIGNATURE)
    assert refused_now["createSignature"] == {
        "__typename": "ForbiddenError",
        "code": "FORBIDDEN",
    }


def known_key() -> KnownKey:
    return KnownKey("hash", uuid.uuid4(), None, uuid.uuid4(), uuid.uuid4(), Role.USER, None)


async def test_a_key_read_before_a_credential_changed_is_not_remembered() -> None:
    """The change may be this key's: its event came while the key was being read."""
    async with Hub("memory://") as hub, KeyCache(hub, ttl_seconds=60) as cache:
        await cache.listening()
        before = cache.changes

        cache.forget_user(uuid.uuid4())
        cache.put("prefix", known_key(), before)

        assert cache.get("prefix") is None
        cache.put("prefix", known_key(), cache.changes)
        assert cache.get("prefix") is not None


async def test_nothing_is_remembered_while_the_hub_does_not_answer() -> None:
    """Without the hub, a change made by another replica would go unheard: no cache then."""
    broker = FakeBroker()
    hub = Hub("memory://", broadcast_factory=broker.connect, heartbeat_interval=0.05)
    async with hub, KeyCache(hub, ttl_seconds=60) as cache:
        await cache.listening()
        cache.put("prefix", known_key(), cache.changes)

        broker.go_deaf()
        await cache.not_listening()

        assert cache.get("prefix") is None
        cache.put("prefix", known_key(), cache.changes)
        assert cache.get("prefix") is None
        await cache.listening()  # the hub reconnected: remembered again
        cache.put("prefix", known_key(), cache.changes)
        assert cache.get("prefix") is not None


class TestWithoutCache:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        auth = make_settings(database_url).auth.model_copy(update={"api_key_cache_seconds": 0})
        return make_settings(database_url, auth=auth)

    async def test_every_request_reads_its_key(self, app: FastAPI, client: GraphQLClient) -> None:
        await client.data(ME)

        with key_reads(app) as reads:
            for _ in range(3):
                await client.data(ME)

        assert len(reads) == 3


class TestReplicas:
    """Two replicas on one database and one Redis."""

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        broadcast = BroadcastSettings(url=service_url(REDIS, "Redis"), heartbeat_seconds=1.0)
        return make_settings(database_url, broadcast=broadcast)

    @pytest.fixture
    async def other(self, settings: Settings) -> AsyncIterator[FastAPI]:
        async with running(settings) as replica:
            await runtime_of(replica).authenticator.keys.listening()
            yield replica

    async def test_a_key_revoked_on_one_replica_stops_on_the_other(
        self, client: GraphQLClient, someone: Member, other: FastAPI
    ) -> None:
        async with GraphQLClient.for_app(other, someone.key) as elsewhere:
            await elsewhere.data(ME)
            with key_reads(other) as reads:
                await elsewhere.data(ME)
            assert reads == [], "the other replica knows the key"

            await client.data(REVOKE_KEY, id=someone.key_id)

            # What a client of the other replica sees, within the hub's delivery (milliseconds);
            # the other process offers no event to await.
            async with asyncio.timeout(5):
                while not await refused(elsewhere):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

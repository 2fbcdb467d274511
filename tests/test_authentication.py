"""Authentication as a client meets it: over HTTP and over both websocket protocols.

Every operation needs an actor (an API key or a signed token), except signIn, signUp and
introspection. A credential that stops being good (revoked, expired, its user deactivated, its
password changed) stops at the next request, and at the next operation of an open websocket.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.accounts.authentication import Authenticator
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.config import AuthSettings, LimitsSettings, Settings
from dspex_gql.db.base import utcnow
from tests.support.app import TEST_JWT_SECRET, make_settings
from tests.support.http_client import GraphQLClient
from tests.support.people import (
    CHANGE_PASSWORD,
    CREATE_KEY,
    CREATE_KEY_EXPIRING,
    CREATE_USER,
    DEACTIVATE,
    NEW_PASSWORD,
    PASSWORD,
    REVOKE_KEY,
    SIGN_IN,
    member,
)
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket, SocketClosed

ME = "{ me { id role } }"
GENERIC = "Invalid or expired credentials"
"""The one message for any credential that was sent but did not work."""
MISSING = "Authentication required"
HINTS = ("prefix", "secret", "signature", "issuer", "audience", "revoked", "scheme", "basic")
"""Words that would tell a caller which part of its credential was wrong."""

API_KEYS = "{ apiKeys { id name prefix createdAt lastUsedAt expiresAt revokedAt } }"
UPDATE_ROLE = """mutation($id: ID!, $role: Role!) { updateUser(id: $id, input: {role: $role}) {
  __typename ... on User { id role } ... on Error { message code } } }"""
EXECUTION_UPDATED = """subscription($id: ID!) {
  executionUpdated(id: $id) { id status } }"""


def unauthenticated(body: dict[str, Any]) -> str:
    """The message of a response refused for want of a working credential."""
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", body
    message: str = error["message"]
    return message


async def refused(client: GraphQLClient, query: str = ME, **variables: Any) -> str:
    return unauthenticated(await client.execute(query, **variables))


async def works(client: GraphQLClient) -> dict[str, Any]:
    me: dict[str, Any] = (await client.data(ME))["me"]
    return me


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flipped(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def with_claims(token: str, **changes: Any) -> str:
    """The token with some claims changed and its original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload)) | changes
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


def tampered(token: str, part: str) -> str:
    header, payload, signature = token.split(".")
    if part == "payload":
        payload = flipped(payload, len(payload) // 2)
    elif part == "signature":
        signature = flipped(signature, len(signature) // 2)
    return ".".join([header, payload, signature])


def unsigned(token: str) -> str:
    """The same claims under `alg: none`, with no signature at all."""
    _, payload, _ = token.split(".")
    return ".".join([b64(b'{"alg":"none","typ":"JWT"}'), payload, ""])


def auth(**changes: Any) -> AuthSettings:
    """The tests' auth settings (cheap argon2, the tests' JWT secret), with some changed."""
    given: dict[str, Any] = {
        "jwt_secret": TEST_JWT_SECRET,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "argon2_parallelism": 1,
    }
    return AuthSettings(**(given | changes))


def key_id_of(body: dict[str, Any]) -> str:
    key_id: str = body["createApiKey"]["apiKey"]["id"]
    return key_id


async def new_key(client: GraphQLClient, name: str = "another") -> tuple[str, str]:
    """A new API key of the client's user: (secret, id)."""
    created = (await client.data(CREATE_KEY, name=name))["createApiKey"]
    assert created["__typename"] == "NewApiKey", created
    return created["secret"], created["apiKey"]["id"]


async def sign_in(client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    result: dict[str, Any] = (
        await client.acting_as(None).data(SIGN_IN, email=email, password=password)
    )["signIn"]
    return result


Later = Callable[..., None]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Later:
    """Move the authenticator's clock forward, instead of sleeping: `later(hours=2)`."""

    def move(**delta: float) -> None:
        moved = utcnow() + timedelta(**delta)
        monkeypatch.setattr(f"{Authenticator.__module__}.utcnow", lambda: moved)

    return move


class TestWithoutCredentials:
    # Subscriptions need a websocket, which refuses a missing credential at connection_init
    # (test_no_or_a_bad_credential_closes_with_4403); over HTTP they are a 400 for anyone.
    @pytest.mark.parametrize(
        "query",
        [ME, 'mutation { createApiKey(name: "mine") { __typename } }'],
        ids=["query", "mutation"],
    )
    async def test_every_operation_needs_a_credential(
        self, client: GraphQLClient, query: str
    ) -> None:
        message = await refused(client.acting_as(None), query)

        assert message.startswith(MISSING)
        assert "Bearer" in message

    async def test_nothing_was_changed(self, client: GraphQLClient) -> None:
        before = len((await client.data(API_KEYS))["apiKeys"])

        await refused(client.acting_as(None), 'mutation { createApiKey(name: "x") { __typename } }')

        assert len((await client.data(API_KEYS))["apiKeys"]) == before

    async def test_get_requests_too(self, client: GraphQLClient) -> None:
        response = await client.http.get("/graphql", params={"query": ME})

        assert unauthenticated(response.json()).startswith(MISSING)


class TestMalformedCredentials:
    @pytest.fixture
    async def headers(self, tenant: Tenant) -> dict[str, str]:
        _, prefix, secret = tenant.admin_key.split("_", 2)
        wrong_secret = "aaaa" + secret[4:] if not secret.startswith("aaaa") else "bbbb" + secret[4:]
        return {
            "basic": "Basic YWRtaW46YWRtaW4=",
            "basic with the key": f"Basic {tenant.admin_key}",
            "bearer alone": "Bearer",
            "bearer and spaces": "Bearer    ",
            "the key without a scheme": tenant.admin_key,
            "garbage": "garbage",
            "bearer garbage": "Bearer garbage",
            "bearer jwt-shaped garbage": "Bearer aaa.bbb.ccc",
            "wrong secret": f"Bearer dsx_{prefix}_{wrong_secret}",
            "no secret": f"Bearer dsx_{prefix}_",
            "unknown prefix": f"Bearer dsx_{uuid.uuid4().hex[:12]}_{secret}",
            "short prefix": f"Bearer dsx_{prefix[:-1]}_{secret}",
            "other scheme": f"Bearer xyz_{prefix}_{secret}",
        }

    async def test_are_refused_with_one_generic_message(
        self, client: GraphQLClient, headers: dict[str, str]
    ) -> None:
        messages = {}
        for case, header in headers.items():
            response = await client.http.post(
                "/graphql", json={"query": ME}, headers={"authorization": header}
            )
            messages[case] = unauthenticated(response.json())

        assert set(messages.values()) == {GENERIC}, messages
        assert not any(hint in GENERIC.lower() for hint in HINTS)

    async def test_the_scheme_is_case_insensitive(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        response = await client.http.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"bearer {tenant.admin_key}"}
        )

        assert response.json()["data"]["me"]["id"] == tenant.admin_id


class TestPublicOperations:
    async def test_sign_in_needs_no_credential(self, client: GraphQLClient) -> None:
        someone = await member(client)

        signed_in = await sign_in(client, someone.email, PASSWORD)

        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["id"] == someone.id

    async def test_sign_up_needs_no_credential(self, client: GraphQLClient) -> None:
        data = await client.acting_as(None).data(
            """mutation { signUp(input: {organizationName: "Acme", name: "Ann",
                 email: "ann@example.test", password: "long enough password"}) {
                 __typename ... on Error { code } } }"""
        )

        assert data["signUp"] == {"__typename": "ForbiddenError", "code": "FORBIDDEN"}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("{ __schema { queryType { name } } }", {"__schema": {"queryType": {"name": "Query"}}}),
            ('{ __type(name: "User") { name } }', {"__type": {"name": "User"}}),
            ("{ __typename }", {"__typename": "Query"}),
        ],
    )
    async def test_introspection_needs_no_credential(
        self, client: GraphQLClient, query: str, expected: dict[str, Any]
    ) -> None:
        assert await client.acting_as(None).data(query) == expected

    @pytest.mark.parametrize(
        "query",
        [
            """mutation { signIn(email: "a@example.test", password: "whatever it is") {
                 __typename } createApiKey(name: "sneaky") { __typename } }""",
            """mutation { ...Both } fragment Both on Mutation {
                 signIn(email: "a@example.test", password: "whatever it is") { __typename }
                 createApiKey(name: "sneaky") { __typename } }""",
            """mutation { signIn: createApiKey(name: "sneaky") { __typename } }""",
            "{ __schema { queryType { name } } programs { totalCount } }",
            "{ __typename ... on Query { me { id } } }",
        ],
        ids=["alongside", "in a fragment", "aliased", "with introspection", "inline fragment"],
    )
    async def test_public_fields_do_not_carry_others_along(
        self, client: GraphQLClient, query: str
    ) -> None:
        message = await refused(client.acting_as(None), query)

        assert message.startswith(MISSING)
        assert [key["name"] for key in (await client.data(API_KEYS))["apiKeys"]] == [
            "first admin key"
        ]

    async def test_a_document_with_sign_in_and_programs_needs_one_for_programs(
        self, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        document = """
          mutation In($email: String!, $password: String!) {
            signIn(email: $email, password: $password) { __typename } }
          query Read { programs { totalCount } }"""
        variables = {"email": someone.email, "password": PASSWORD}

        async def run(operation: str) -> dict[str, Any]:
            payload = {"query": document, "variables": variables, "operationName": operation}
            body: dict[str, Any] = (await client.http.post("/graphql", json=payload)).json()
            return body

        assert (await run("In"))["data"] == {"signIn": {"__typename": "AuthPayload"}}
        assert unauthenticated(await run("Read")).startswith(MISSING)


class TestPrivateIntrospection:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, auth=auth(public_introspection=False))

    async def test_introspection_needs_a_credential_when_not_public(
        self, client: GraphQLClient
    ) -> None:
        await refused(client.acting_as(None), "{ __schema { queryType { name } } }")
        data = await client.data("{ __schema { queryType { name } } }")

        assert data["__schema"]["queryType"]["name"] == "Query"


class TestTokens:
    async def test_a_signed_in_token_acts_as_its_user(self, client: GraphQLClient) -> None:
        someone = await member(client, "VIEWER")

        assert await works(client.acting_as(someone.token)) == {"id": someone.id, "role": "VIEWER"}

    async def test_expires_at_is_the_configured_lifetime_away(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        someone = await member(client)
        before = datetime.now(UTC)

        signed_in = await sign_in(client, someone.email, PASSWORD)

        expires_at = datetime.fromisoformat(signed_in["expiresAt"])
        lifetime = timedelta(seconds=settings.auth.token_ttl_seconds)
        assert before + lifetime - timedelta(seconds=2) <= expires_at
        assert expires_at <= datetime.now(UTC) + lifetime

    async def test_one_minted_with_the_services_settings_works(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        """The control for the forgeries below: done right, such a token would be accepted."""
        someone = await member(client)
        token, _ = Tokens(settings.auth).issue(uuid.UUID(someone.id), 0)

        assert (await works(client.acting_as(token)))["id"] == someone.id

    @pytest.mark.parametrize("part", ["payload", "signature"])
    async def test_a_tampered_token_is_refused(self, client: GraphQLClient, part: str) -> None:
        someone = await member(client)

        assert await refused(client.acting_as(tampered(someone.token, part))) == GENERIC

    async def test_claims_cannot_be_changed_under_the_signature(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        someone = await member(client)

        as_admin = with_claims(someone.token, sub=tenant.admin_id)
        newer = with_claims(someone.token, exp=int(datetime.now(UTC).timestamp()) + 10**6)

        assert await refused(client.acting_as(as_admin)) == GENERIC
        assert await refused(client.acting_as(newer)) == GENERIC

    async def test_an_unsigned_token_is_refused(self, client: GraphQLClient) -> None:
        someone = await member(client)

        assert await refused(client.acting_as(unsigned(someone.token))) == GENERIC

    @pytest.mark.parametrize(
        "changes",
        [
            {"jwt_secret": "another-secret-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789"},
            {"jwt_issuer": "someone-else"},
            {"jwt_audience": "someone-else"},
        ],
        ids=["another secret", "another issuer", "another audience"],
    )
    async def test_a_token_of_other_settings_is_refused(
        self, client: GraphQLClient, changes: dict[str, str]
    ) -> None:
        someone = await member(client)
        token, _ = Tokens(auth(**changes)).issue(uuid.UUID(someone.id), 0)

        assert await refused(client.acting_as(token)) == GENERIC

    async def test_an_expired_token_is_refused(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        someone = await member(client)
        lifetime = timedelta(seconds=settings.auth.token_ttl_seconds)
        issued = datetime.now(UTC) - lifetime - timedelta(seconds=5)
        token, expires_at = Tokens(settings.auth).issue(uuid.UUID(someone.id), 0, now=issued)

        assert expires_at < datetime.now(UTC)
        assert await refused(client.acting_as(token)) == GENERIC

    async def test_a_token_issued_in_the_future_is_refused(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        someone = await member(client)
        issued = datetime.now(UTC) + timedelta(hours=1)
        token, _ = Tokens(settings.auth).issue(uuid.UUID(someone.id), 0, now=issued)

        assert await refused(client.acting_as(token)) == GENERIC

    async def test_a_token_of_nobody_or_of_an_old_version_is_refused(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        someone = await member(client)
        tokens = Tokens(settings.auth)
        nobody, _ = tokens.issue(uuid.uuid4(), 0)
        other_version, _ = tokens.issue(uuid.UUID(someone.id), 1)

        assert await refused(client.acting_as(nobody)) == GENERIC
        assert await refused(client.acting_as(other_version)) == GENERIC


class TestApiKeys:
    async def test_a_revoked_key_stops_at_the_next_request(self, client: GraphQLClient) -> None:
        someone = await member(client)
        other_secret, _ = await new_key(someone.client)
        assert await works(someone.client)

        revoked = (await someone.client.data(REVOKE_KEY, id=someone.key_id))["revokeApiKey"]

        assert revoked["__typename"] == "ApiKey"
        assert await refused(someone.client) == GENERIC
        assert (await works(client.acting_as(other_secret)))["id"] == someone.id
        assert (await works(client.acting_as(someone.token)))["id"] == someone.id
        assert await works(client)

    async def test_a_key_revoked_by_an_admin_stops_too(self, client: GraphQLClient) -> None:
        someone = await member(client)

        await client.data(REVOKE_KEY, id=someone.key_id)

        assert await refused(someone.client) == GENERIC

    async def test_a_key_works_until_it_expires(self, client: GraphQLClient, later: Later) -> None:
        someone = await member(client)
        expires_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        created = (
            await someone.client.data(CREATE_KEY_EXPIRING, name="hourly", expiresAt=expires_at)
        )["createApiKey"]
        expiring = client.acting_as(created["secret"])
        assert (await works(expiring))["id"] == someone.id

        later(hours=2)

        assert await refused(expiring) == GENERIC
        assert (await works(someone.client))["id"] == someone.id, "a key without expiry works"

    async def test_last_used_at_is_set_once_the_key_is_used(self, client: GraphQLClient) -> None:
        someone = await member(client)
        as_token = client.acting_as(someone.token)
        secret, key_id = await new_key(as_token, "fresh")

        def fresh(keys: list[dict[str, Any]]) -> dict[str, Any]:
            return next(key for key in keys if key["id"] == key_id)

        unused = fresh((await as_token.data(API_KEYS))["apiKeys"])
        before = datetime.now(UTC)
        await works(client.acting_as(secret))
        used = fresh((await as_token.data(API_KEYS))["apiKeys"])

        assert unused["lastUsedAt"] is None
        last_used = datetime.fromisoformat(used["lastUsedAt"])
        assert before - timedelta(seconds=1) <= last_used <= datetime.now(UTC)

    async def test_a_deactivated_users_keys_and_tokens_stop_at_once(
        self, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        bystander = await member(client)
        assert await works(someone.client)

        deactivated = (await client.data(DEACTIVATE, id=someone.id))["deactivateUser"]

        assert deactivated == {"__typename": "User", "id": someone.id, "active": False}
        assert await refused(someone.client) == GENERIC
        assert await refused(client.acting_as(someone.token)) == GENERIC
        assert (await works(bystander.client))["id"] == bystander.id
        assert (await works(client.acting_as(bystander.token)))["id"] == bystander.id


class TestChangePassword:
    async def test_ends_old_tokens_and_keeps_api_keys(self, client: GraphQLClient) -> None:
        someone = await member(client)
        second_token = (await sign_in(client, someone.email, PASSWORD))["token"]
        as_token = client.acting_as(someone.token)

        changed = (await as_token.data(CHANGE_PASSWORD, current=PASSWORD, new=NEW_PASSWORD))[
            "changePassword"
        ]

        assert changed["__typename"] == "AuthPayload"
        assert changed["user"]["id"] == someone.id
        assert await refused(as_token) == GENERIC
        assert await refused(client.acting_as(second_token)) == GENERIC
        assert (await works(client.acting_as(changed["token"])))["id"] == someone.id
        assert (await works(someone.client))["id"] == someone.id

    async def test_only_the_new_password_signs_in(self, client: GraphQLClient) -> None:
        someone = await member(client)

        await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new=NEW_PASSWORD)

        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "ValidationError"
        signed_in = await sign_in(client, someone.email, NEW_PASSWORD)
        assert signed_in["__typename"] == "AuthPayload"
        assert (await works(client.acting_as(signed_in["token"])))["id"] == someone.id

    async def test_a_refused_change_changes_nothing(self, client: GraphQLClient) -> None:
        someone = await member(client)
        as_token = client.acting_as(someone.token)

        wrong = (
            await as_token.data(CHANGE_PASSWORD, current="not the password", new=NEW_PASSWORD)
        )["changePassword"]

        assert wrong["__typename"] == "ValidationError"
        assert (await works(as_token))["id"] == someone.id
        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "AuthPayload"


class TestRoleChanges:
    async def test_a_demoted_admin_loses_admin_rights_at_the_next_request(
        self, client: GraphQLClient
    ) -> None:
        deputy = await member(client, "ADMIN")
        assert (await deputy.client.data("{ users { totalCount } }"))["users"]["totalCount"] == 2

        await client.data(UPDATE_ROLE, id=deputy.id, role="VIEWER")

        for credential in (deputy.key, deputy.token):
            errors = await client.acting_as(credential).errors("{ users { totalCount } }")
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"


class TestRequestRateLimit:
    BURST = 5

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(requests_per_second=0.001, request_burst=self.BURST)
        return make_settings(database_url, limits=limits)

    async def test_each_actor_has_its_own_budget(self, client: GraphQLClient) -> None:
        someone = await member(client)  # the admin spends one request, the member one
        for _ in range(self.BURST - 1):
            await works(client)

        body = await client.execute(ME)

        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] > 0
        assert (await works(someone.client))["id"] == someone.id

    async def test_keys_and_tokens_of_one_user_share_it(self, client: GraphQLClient) -> None:
        someone = await member(client)
        for _ in range(self.BURST - 1):
            await works(someone.client)

        errors = await client.acting_as(someone.token).errors(ME)

        assert errors[0]["extensions"]["code"] == "RATE_LIMITED"

    async def test_sign_in_is_not_spent_from_it(self, client: GraphQLClient) -> None:
        someone = await member(client)
        for _ in range(self.BURST - 1):
            await works(someone.client)

        assert (await sign_in(client, someone.email, PASSWORD))["__typename"] == "AuthPayload"


class TestSignInRateLimit:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(
            requests_per_second=1000,
            request_burst=1000,
            sign_in_attempts_per_account=3,
            sign_in_attempts_per_address=5,
            sign_in_window_seconds=3600,
        )
        return make_settings(database_url, limits=limits)

    async def user(self, client: GraphQLClient) -> str:
        email = f"limited-{uuid.uuid4().hex[:8]}@example.test"
        given = {"email": email, "name": "Limited", "password": PASSWORD}
        created = (await client.data(CREATE_USER, input=given))["createUser"]
        assert created["__typename"] == "User", created
        return email

    async def attempt(self, client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
        payload = {"query": SIGN_IN, "variables": {"email": email, "password": password}}
        body: dict[str, Any] = (await client.http.post("/graphql", json=payload)).json()
        return body

    async def test_an_account_gets_a_few_attempts(self, client: GraphQLClient) -> None:
        email, other = await self.user(client), await self.user(client)
        for _ in range(3):
            body = await self.attempt(client, email.upper(), "not the password")
            assert body["data"]["signIn"]["__typename"] == "ValidationError"

        limited = await self.attempt(client, email, PASSWORD)

        assert limited["data"] is None
        [error] = limited["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] > 0
        assert "Too many" in error["message"]
        other_body = await self.attempt(client, other, PASSWORD)
        assert other_body["data"]["signIn"]["__typename"] == "AuthPayload"

    async def test_an_address_gets_a_few_more(self, client: GraphQLClient) -> None:
        for _ in range(5):
            body = await self.attempt(client, f"{uuid.uuid4().hex}@example.test", "wrong")
            assert body["data"]["signIn"]["__typename"] == "ValidationError"

        limited = await self.attempt(client, await self.user(client), PASSWORD)

        assert limited["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


class TestRequestId:
    async def post(self, client: GraphQLClient, request_id: str | bytes | None = None) -> Any:
        headers = {name.encode(): value.encode() for name, value in client.headers.items()}
        if request_id is not None:
            raw = request_id if isinstance(request_id, bytes) else request_id.encode()
            headers[b"x-request-id"] = raw
        return await client.http.post("/graphql", json={"query": ME}, headers=headers)

    async def test_every_response_carries_a_fresh_one(self, client: GraphQLClient) -> None:
        first = await self.post(client)
        second = await self.post(client.acting_as(None))

        ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
        assert all(re.fullmatch(r"[0-9a-f]{32}", id) for id in ids), ids
        assert ids[0] != ids[1]

    @pytest.mark.parametrize("sane", ["abc-123", "A.b_c-9", "x" * 64])
    async def test_a_sane_incoming_one_is_echoed(self, client: GraphQLClient, sane: str) -> None:
        response = await self.post(client, sane)

        assert response.headers.get_list("x-request-id") == [sane]

    @pytest.mark.parametrize(
        "insane", ["x" * 65, "has spaces", "semi;colon", "", "\u00e9t\u00e9".encode()]
    )
    async def test_an_insane_one_is_replaced(
        self, client: GraphQLClient, insane: str | bytes
    ) -> None:
        response = await self.post(client, insane)

        [request_id] = response.headers.get_list("x-request-id")
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)

    async def test_the_audit_log_records_it(self, client: GraphQLClient) -> None:
        payload = {"query": CREATE_KEY, "variables": {"name": "traced"}}
        headers = client.headers | {"x-request-id": "trace-me-42", "user-agent": "tests/1.0"}
        created = (await client.http.post("/graphql", json=payload, headers=headers)).json()
        key_id = key_id_of(created["data"])

        logs = await client.data(
            """query($id: String!) { auditLogs(filter: {resourceId: {eq: $id}}) {
                 nodes { action requestId ipAddress userAgent } } }""",
            id=key_id,
        )

        assert logs["auditLogs"]["nodes"] == [
            {
                "action": "apiKey.create",
                "requestId": "trace-me-42",
                "ipAddress": "10.0.0.7",
                "userAgent": "tests/1.0",
            }
        ]


# Websockets: the tests' Socket, over a real socket to the app served as `dspex-gql serve` does.


async def execution_of(client: GraphQLClient, *, finished: bool = True) -> str:
    """An execution of a new program of the client's user: finished, or far from it."""
    configuration = {} if finished else {"latency_ms": 60_000}
    program = (
        await client.data(
            """mutation($configuration: JSON!) { createProgram(input: {
                 name: "watched", signatureSpec: "question -> answer", initialize: true,
                 configuration: $configuration }) { ... on Program { id status } } }""",
            configuration=configuration,
        )
    )["createProgram"]
    assert program["status"] == "READY", program
    execution = (
        await client.data(
            """mutation($id: ID!, $wait: Boolean!) { executeProgram(input: {
                 programId: $id, inputs: {question: "Why?"}, wait: $wait }) {
                 ... on Execution { id status } } }""",
            id=program["id"],
            wait=finished,
        )
    )["executeProgram"]
    execution_id: str = execution["id"]
    return execution_id


def refused_on_socket(payloads: list[dict[str, Any]]) -> str:
    [payload] = payloads
    return unauthenticated(payload)


def watched(payloads: list[dict[str, Any]]) -> list[str]:
    for payload in payloads:
        assert not payload.get("errors"), payload
    return [payload["data"]["executionUpdated"]["status"] for payload in payloads]


class TestWebsocketConnection:
    @pytest.mark.parametrize("credential", ["key", "token"])
    async def test_a_good_credential_is_acknowledged_and_subscribes(
        self, app: FastAPI, client: GraphQLClient, credential: str
    ) -> None:
        someone = await member(client)
        execution_id = await execution_of(someone.client)

        async with Socket(app) as socket:
            ack = await socket.init(f"Bearer {getattr(someone, credential)}")
            states = watched(await socket.run(EXECUTION_UPDATED, {"id": execution_id}))
            me = await socket.run(ME)

        assert ack["type"] == "connection_ack"
        assert states == ["COMPLETED"]
        assert me == [{"data": {"me": {"id": someone.id, "role": "USER"}}}]

    async def test_the_payload_key_may_be_capitalised(self, app: FastAPI, tenant: Tenant) -> None:
        async with Socket(app) as socket:
            init = {"Authorization": f"Bearer {tenant.admin_key}"}
            await socket.send({"type": "connection_init", "payload": init})
            ack = await socket.receive()

        assert ack["type"] == "connection_ack"

    async def test_the_upgrade_requests_authorization_header_is_used_too(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        headers = {"authorization": f"Bearer {tenant.admin_key}"}

        async with Socket(app, headers=headers) as socket:
            ack = await socket.init(None)
            me = await socket.run(ME)

        assert ack["type"] == "connection_ack"
        assert me[0]["data"]["me"]["role"] == "ADMIN"

    @pytest.mark.parametrize(
        "authorization",
        [None, "", "Bearer", "Bearer nope", "Basic YTpi", "Bearer dsx_000000000000_secret"],
    )
    async def test_no_or_a_bad_credential_closes_with_4403(
        self, app: FastAPI, authorization: str | None
    ) -> None:
        async with Socket(app) as socket:
            with pytest.raises(SocketClosed) as closed:
                await socket.init(authorization)

        assert closed.value.code == 4403

    @pytest.mark.parametrize(
        "spoiled", ["a NUL in the prefix", "a lone surrogate in the secret", "a NUL in a token"]
    )
    async def test_a_credential_no_database_could_hold_closes_with_4403(
        self, app: FastAPI, tenant: Tenant, spoiled: str
    ) -> None:
        """A websocket's credential is any JSON string: it never reaches the database."""
        _, prefix, _ = tenant.admin_key.split("_", 2)
        authorization = {
            "a NUL in the prefix": f"Bearer dsx_\x00{prefix[1:]}_secret",
            "a lone surrogate in the secret": f"Bearer dsx_{prefix}_\ud800",
            "a NUL in a token": "Bearer aaa.b\x00b.ccc",
        }[spoiled]

        async with Socket(app) as socket:
            with pytest.raises(SocketClosed) as closed:
                await socket.init(authorization)

        assert closed.value.code == 4403

    @pytest.mark.parametrize("stopped", ["revoked key", "deactivated user", "expired token"])
    async def test_a_credential_that_stopped_closes_with_4403(
        self, app: FastAPI, client: GraphQLClient, settings: Settings, stopped: str
    ) -> None:
        someone = await member(client)
        credential = someone.key
        if stopped == "revoked key":
            await client.data(REVOKE_KEY, id=someone.key_id)
        elif stopped == "deactivated user":
            await client.data(DEACTIVATE, id=someone.id)
            credential = someone.token
        else:
            issued = datetime.now(UTC) - timedelta(days=30)
            credential, _ = Tokens(settings.auth).issue(uuid.UUID(someone.id), 0, now=issued)

        async with Socket(app) as socket:
            with pytest.raises(SocketClosed) as closed:
                await socket.init(f"Bearer {credential}")

        assert closed.value.code == 4403

    async def test_subscribing_before_connection_init_is_refused(self, app: FastAPI) -> None:
        async with Socket(app) as socket:
            await socket.start(ME)
            with pytest.raises(SocketClosed) as closed:
                await socket.receive()

        assert closed.value.code == 4401


class TestWebsocketRecheck:
    """An open connection asks again at each operation: a credential that stopped, stops."""

    async def test_a_key_revoked_while_open_stops_the_next_subscribe(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        running = await execution_of(someone.client, finished=False)

        async with Socket(app) as socket:
            await socket.init(f"Bearer {someone.key}")
            await socket.start(EXECUTION_UPDATED, {"id": running}, operation="open")
            snapshot = await socket.receive()
            await client.acting_as(someone.token).data(REVOKE_KEY, id=someone.key_id)
            ended = await socket.results("open")  # the open one ends, saying why
            refusal = await socket.run(EXECUTION_UPDATED, {"id": running})

        assert snapshot["id"] == "open"
        assert snapshot["type"] == "next"
        assert ended[-1]["errors"][0]["message"] == "The API key was revoked"
        assert refused_on_socket(refusal) == GENERIC

    async def test_queries_over_the_socket_are_rechecked_too(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)

        async with Socket(app) as socket:
            await socket.init(f"Bearer {someone.key}")
            assert (await socket.run(ME))[0]["data"]["me"]["id"] == someone.id
            await client.data(REVOKE_KEY, id=someone.key_id)
            refusal = await socket.run(ME)

        assert refused_on_socket(refusal) == GENERIC

    async def test_a_user_deactivated_while_open_stops_at_the_next_subscribe(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        finished = await execution_of(someone.client)

        async with Socket(app) as token_socket, Socket(app) as key_socket:
            await token_socket.init(f"Bearer {someone.token}")
            await key_socket.init(f"Bearer {someone.key}")
            await client.data(DEACTIVATE, id=someone.id)
            by_token_refusal = await token_socket.run(EXECUTION_UPDATED, {"id": finished})
            by_key_refusal = await key_socket.run(EXECUTION_UPDATED, {"id": finished})

        assert refused_on_socket(by_token_refusal) == GENERIC
        assert refused_on_socket(by_key_refusal) == GENERIC

    async def test_a_password_change_stops_token_sockets_not_key_sockets(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        finished = await execution_of(someone.client)

        async with Socket(app) as token_socket, Socket(app) as key_socket:
            await token_socket.init(f"Bearer {someone.token}")
            await key_socket.init(f"Bearer {someone.key}")
            changed = await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new=NEW_PASSWORD)
            by_token_refusal = await token_socket.run(EXECUTION_UPDATED, {"id": finished})
            by_key_states = watched(await key_socket.run(EXECUTION_UPDATED, {"id": finished}))

        assert changed["changePassword"]["__typename"] == "AuthPayload"
        assert refused_on_socket(by_token_refusal) == GENERIC
        assert by_key_states == ["COMPLETED"]

    async def test_a_key_that_expired_while_open_stops_at_the_next_subscribe(
        self, app: FastAPI, client: GraphQLClient, later: Later
    ) -> None:
        someone = await member(client)
        finished = await execution_of(someone.client)
        expires_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        created = await someone.client.data(
            CREATE_KEY_EXPIRING, name="hourly", expiresAt=expires_at
        )

        async with Socket(app) as socket:
            await socket.init(f"Bearer {created['createApiKey']['secret']}")
            assert watched(await socket.run(EXECUTION_UPDATED, {"id": finished})) == ["COMPLETED"]
            later(hours=2)
            refusal = await socket.run(EXECUTION_UPDATED, {"id": finished})

        assert refused_on_socket(refusal) == GENERIC

    async def test_a_token_that_expired_while_open_stops_at_the_next_subscribe(
        self, app: FastAPI, client: GraphQLClient, settings: Settings, later: Later
    ) -> None:
        someone = await member(client)
        finished = await execution_of(someone.client)
        lifetime = timedelta(seconds=settings.auth.token_ttl_seconds)
        issued = datetime.now(UTC) - lifetime + timedelta(minutes=5)
        token, _ = Tokens(settings.auth).issue(uuid.UUID(someone.id), 0, now=issued)

        async with Socket(app) as socket:
            await socket.init(f"Bearer {token}")
            assert watched(await socket.run(EXECUTION_UPDATED, {"id": finished})) == ["COMPLETED"]
            later(hours=1)
            refusal = await socket.run(EXECUTION_UPDATED, {"id": finished})

        assert refused_on_socket(refusal) == GENERIC

    async def test_a_demoted_admin_loses_admin_rights_on_an_open_socket(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        deputy = await member(client, "ADMIN")

        async with Socket(app) as socket:
            await socket.init(f"Bearer {deputy.key}")
            assert (await socket.run("{ users { totalCount } }"))[0]["data"]["users"]
            await client.data(UPDATE_ROLE, id=deputy.id, role="VIEWER")
            listing = await socket.run("{ users { totalCount } }")

        [payload] = listing
        assert payload["data"] is None
        assert payload["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestLegacyGraphqlWs:
    @pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic YTpi"])
    async def test_a_bad_credential_gets_connection_error(
        self, app: FastAPI, authorization: str | None
    ) -> None:
        payload = {} if authorization is None else {"authorization": authorization}

        async with Socket(app, protocol="graphql-ws") as socket:
            await socket.send({"type": "connection_init", "payload": payload})
            error = await socket.receive()
            with pytest.raises(SocketClosed):
                await socket.receive()

        assert error["type"] == "connection_error"
        message = error["payload"]["message"]
        assert message.startswith(MISSING) if authorization is None else message == GENERIC

    async def test_a_key_revoked_while_open_stops_the_next_start(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        finished = await execution_of(someone.client)
        start = {"query": EXECUTION_UPDATED, "variables": {"id": finished}}

        async with Socket(app, protocol="graphql-ws") as socket:
            init = {"authorization": f"Bearer {someone.key}"}
            await socket.send({"type": "connection_init", "payload": init})
            assert (await socket.receive())["type"] == "connection_ack"
            await client.data(REVOKE_KEY, id=someone.key_id)
            await socket.send({"id": "1", "type": "start", "payload": start})
            data = await socket.receive()
            done = await socket.receive()

        assert data["type"] == "data"
        assert unauthenticated(data["payload"]) == GENERIC
        assert done == {"type": "complete", "id": "1"}


async def test_a_credential_acts_in_its_own_organization(
    app: FastAPI, client: GraphQLClient
) -> None:
    """A credential names its user, and so its organization: there is nothing else to pick."""
    other = await new_tenant(app)

    mine = (await client.data("{ organization { id } }"))["organization"]["id"]
    theirs = (await client.acting_as(other.admin_key).data("{ organization { id } }"))[
        "organization"
    ]["id"]

    assert theirs == other.organization_id != mine

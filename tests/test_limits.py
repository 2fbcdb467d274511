"""Rate limits and compute quotas: each actor's request budget, sign-in attempts per account and per
client address, and each organization's compute quota. (Query size limits: test_security.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import LimitsSettings, Settings
from dspex_gql.errors import NotFound
from tests.support.app import make_settings, running
from tests.support.external_services import REDIS, service_url
from tests.support.factories import create_program, execute, unique
from tests.support.http_client import GraphQLClient
from tests.support.people import CREATE_USER, PASSWORD, SIGN_IN, member
from tests.support.tenants import Tenant, new_tenant

ME = "{ me { id } }"


def rate_limited(body: dict[str, Any]) -> float:
    """The `retryAfter` of a response refused as a whole with RATE_LIMITED."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    retry_after: float = error["extensions"]["retryAfter"]
    return retry_after


async def spend(client: GraphQLClient, requests: int) -> None:
    for _ in range(requests):
        await client.data(ME)


class TestRequestBudget:
    """Three operations at once per user, refilled at one per 1000 seconds."""

    BURST, PER_SECOND = 3, 0.001

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(request_burst=self.BURST, requests_per_second=self.PER_SECOND)
        return make_settings(database_url, limits=limits)

    async def test_the_operation_after_the_burst_is_refused(self, client: GraphQLClient) -> None:
        await spend(client, self.BURST)

        retry_after = rate_limited(await client.execute(ME))

        assert 0 < retry_after <= 1 / self.PER_SECOND
        assert rate_limited(await client.execute(ME)) > 0, "still refused"

    async def test_a_refused_mutation_changes_nothing(self, client: GraphQLClient) -> None:
        deputy = await member(client, "ADMIN")  # one of the admin's requests
        await spend(client, self.BURST - 1)
        name = unique("refused")

        body = await client.execute(
            """mutation($name: String!) { createSignature(input: {name: $name,
                 spec: "question -> answer"}) { __typename } }""",
            name=name,
        )

        rate_limited(body)
        seen = await deputy.client.data(
            """query($name: String!) {
                 signatures(filter: {name: {eq: $name}}) { totalCount }
                 auditLogs(filter: {action: {eq: "signature.create"}}) { totalCount } }""",
            name=name,
        )
        assert seen == {"signatures": {"totalCount": 0}, "auditLogs": {"totalCount": 0}}

    async def test_other_members_and_organizations_keep_their_budget(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client, "USER")  # the admin spends one, the member one
        await spend(client, self.BURST - 1)
        rate_limited(await client.execute(ME))

        other = client.acting_as((await new_tenant(app)).admin_key)

        assert (await someone.client.data(ME))["me"]["id"] == someone.id
        await spend(other, self.BURST)
        rate_limited(await other.execute(ME))

    async def test_signing_in_is_free_but_does_not_refill_it(self, client: GraphQLClient) -> None:
        someone = await member(client, "USER")  # the member's token spent one (its API key)
        await spend(someone.client, self.BURST - 1)
        rate_limited(await someone.client.execute(ME))

        signed_in = [
            (await someone.client.data(SIGN_IN, email=someone.email, password=PASSWORD))["signIn"]
            for _ in range(self.BURST + 1)
        ]

        assert {s["__typename"] for s in signed_in} == {"AuthPayload"}
        # The budget is the user's: a fresh token of the same user is still refused.
        rate_limited(await client.acting_as(signed_in[-1]["token"]).execute(ME))

    async def test_introspection_is_not_counted(self, client: GraphQLClient) -> None:
        await spend(client, self.BURST)

        for _ in range(self.BURST + 1):
            assert await client.data("{ __typename }") == {"__typename": "Query"}
            schema = await client.data("{ __schema { queryType { name } } }")
            assert schema["__schema"]["queryType"]["name"] == "Query"
        rate_limited(await client.execute(ME))


class TestRequestBudgetAcrossReplicas:
    """Two replicas of the API on one database: with Redis, one budget for both."""

    BURST, PER_SECOND = 3, 0.001

    def limits(self, redis_url: str) -> LimitsSettings:
        return LimitsSettings(
            request_burst=self.BURST, requests_per_second=self.PER_SECOND, redis_url=redis_url
        )

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, limits=self.limits(service_url(REDIS, "Redis")))

    @pytest.fixture
    async def second(
        self, app: FastAPI, settings: Settings, tenant: Tenant
    ) -> AsyncIterator[GraphQLClient]:
        """The same admin, through another replica."""
        async with (
            running(settings) as replica,
            GraphQLClient.for_app(replica, tenant.admin_key) as graphql,
        ):
            yield graphql

    async def test_share_one_budget_in_redis(
        self, client: GraphQLClient, second: GraphQLClient
    ) -> None:
        for replica in (client, second, client):
            await spend(replica, 1)

        retry_after = rate_limited(await second.execute(ME))

        assert 0 < retry_after <= 1 / self.PER_SECOND
        assert rate_limited(await client.execute(ME)) > 0

    async def test_requests_sent_together_to_both_get_exactly_the_budget(
        self, client: GraphQLClient, second: GraphQLClient
    ) -> None:
        """Requests in flight at once on both replicas: exactly the budget is allowed, no take
        lost or counted twice (takes asked together share a Redis call: test_shared_buckets)."""
        sent = [replica.execute(ME) for replica in (client, second) for _ in range(self.BURST)]
        answers = await asyncio.gather(*sent)

        allowed = [answer for answer in answers if answer.get("data")]
        refused = [rate_limited(answer) for answer in answers if not answer.get("data")]
        assert len(allowed) == self.BURST
        assert len(refused) == self.BURST
        assert all(0 < retry_after <= 1 / self.PER_SECOND for retry_after in refused)

    async def test_without_redis_each_counts_alone(self, database_url: str, tenant: Tenant) -> None:
        alone = make_settings(database_url, limits=self.limits("none"))
        async with running(alone) as first, running(alone) as other:
            for replica in (first, other):
                async with GraphQLClient.for_app(replica, tenant.admin_key) as graphql:
                    await spend(graphql, self.BURST)
                    rate_limited(await graphql.execute(ME))


class SignIns:
    """Sign-in attempts, each a fresh request without credentials."""

    @staticmethod
    async def user(client: GraphQLClient) -> str:
        email = f"limited-{uuid.uuid4().hex[:8]}@example.test"
        given = {"email": email, "name": "Limited", "password": PASSWORD}
        created = (await client.data(CREATE_USER, input=given))["createUser"]
        assert created["__typename"] == "User", created
        return email

    @staticmethod
    async def attempt(client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
        return await client.acting_as(None).execute(SIGN_IN, email=email, password=password)

    @staticmethod
    def outcome(body: dict[str, Any]) -> str:
        if body.get("errors"):
            return str(body["errors"][0]["extensions"]["code"])
        return str(body["data"]["signIn"]["__typename"])


class TestSignInPerAccount(SignIns):
    ATTEMPTS, WINDOW = 2, 900.0

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(
            request_burst=1000,
            requests_per_second=1000,
            sign_in_attempts_per_account=self.ATTEMPTS,
            sign_in_window_seconds=self.WINDOW,
        )
        return make_settings(database_url, limits=limits)

    async def test_the_third_attempt_is_refused_even_with_the_right_password(
        self, client: GraphQLClient
    ) -> None:
        email, other = await self.user(client), await self.user(client)

        wrong = await self.attempt(client, email, "not the password")
        right = await self.attempt(client, email, PASSWORD)
        refused = await self.attempt(client, email, PASSWORD)

        assert [self.outcome(wrong), self.outcome(right)] == ["ValidationError", "AuthPayload"]
        retry_after = rate_limited(refused)
        assert 0 < retry_after <= self.WINDOW / self.ATTEMPTS
        assert self.outcome(await self.attempt(client, other, PASSWORD)) == "AuthPayload"

    async def test_the_account_is_its_normalized_email(self, client: GraphQLClient) -> None:
        email = await self.user(client)

        outcomes = [
            self.outcome(await self.attempt(client, spelled, PASSWORD))
            for spelled in (email.upper(), f"  {email} ", email)
        ]

        assert outcomes == ["AuthPayload", "AuthPayload", "RATE_LIMITED"]

    async def test_guessing_the_current_password_spends_the_same_attempts(
        self, client: GraphQLClient
    ) -> None:
        """A stolen API key must not become a way to brute-force the account's password."""
        someone = await member(client, "USER")  # its sign-in spent one of the two attempts
        change = """mutation($current: String!) {
          changePassword(currentPassword: $current, newPassword: "a brand new password") {
            __typename } }"""

        first = await someone.client.execute(change, current="a guess")
        second = await someone.client.execute(change, current="another guess")
        signing_in = await self.attempt(client, someone.email, PASSWORD)

        assert first["data"]["changePassword"]["__typename"] == "ValidationError"
        assert rate_limited(second) > 0
        assert self.outcome(signing_in) == "RATE_LIMITED"

    async def test_unknown_emails_are_limited_alike(self, client: GraphQLClient) -> None:
        """A refusal tells nothing about whether the account exists."""
        unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.test"

        outcomes = [
            self.outcome(await self.attempt(client, unknown, PASSWORD))
            for _ in range(self.ATTEMPTS + 1)
        ]

        assert outcomes == ["ValidationError"] * self.ATTEMPTS + ["RATE_LIMITED"]


class TestSignInPerAddress(SignIns):
    ATTEMPTS = 4

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(
            request_burst=1000,
            requests_per_second=1000,
            sign_in_attempts_per_account=100,
            sign_in_attempts_per_address=self.ATTEMPTS,
        )
        return make_settings(database_url, limits=limits)

    @pytest.fixture
    async def elsewhere(self, app: FastAPI) -> AsyncIterator[GraphQLClient]:
        """A client from another address than the usual 10.0.0.7."""
        async with GraphQLClient.for_app(app, address=("10.0.0.8", 41000)) as graphql:
            yield graphql

    async def test_one_address_gets_a_few_attempts_across_emails(
        self, client: GraphQLClient, elsewhere: GraphQLClient
    ) -> None:
        email = await self.user(client)
        strangers = [f"{uuid.uuid4().hex[:8]}@example.test" for _ in range(self.ATTEMPTS)]

        outcomes = [self.outcome(await self.attempt(client, e, "wrong")) for e in strangers]
        refused = await self.attempt(client, email, PASSWORD)

        assert outcomes == ["ValidationError"] * self.ATTEMPTS
        assert rate_limited(refused) > 0
        assert self.outcome(await self.attempt(elsewhere, email, PASSWORD)) == "AuthPayload"


class TestSignUpPerAddress:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = LimitsSettings(
            request_burst=1000, requests_per_second=1000, sign_in_attempts_per_address=2
        )
        base = make_settings(database_url, limits=limits)
        return base.model_copy(update={"auth": base.auth.model_copy(update={"allow_signup": True})})

    async def test_one_address_signs_up_a_few_times(self, client: GraphQLClient) -> None:
        sign_up = """mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }"""

        def given() -> dict[str, str]:
            suffix = uuid.uuid4().hex[:8]
            return {
                "organizationName": f"org {suffix}",
                "name": "Founder",
                "email": f"founder-{suffix}@example.test",
                "password": PASSWORD,
            }

        anonymous = client.acting_as(None)
        first = await anonymous.execute(sign_up, input=given())
        second = await anonymous.execute(sign_up, input=given())
        third = await anonymous.execute(sign_up, input=given())

        assert first["data"]["signUp"]["__typename"] == "AuthPayload"
        assert second["data"]["signUp"]["__typename"] == "AuthPayload"
        assert rate_limited(third) > 0


ORGANIZATION = "{ organization { computeQuotaSeconds computeUsedSeconds totalExecutions } }"
COUNTS = """{ executions { totalCount }
  auditLogs(filter: {action: {eq: "execution.start"}}) { totalCount } }"""
QUICK = {"latency_ms": 50}


class TestComputeQuota:
    async def usage(self, client: GraphQLClient) -> dict[str, Any]:
        organization: dict[str, Any] = (await client.data(ORGANIZATION))["organization"]
        return organization

    async def test_a_finished_run_adds_its_duration(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration=QUICK)
        before = await self.usage(client)

        run = await execute(client, program["id"], wait=True)

        after = await self.usage(client)
        assert before == {
            "computeQuotaSeconds": None,
            "computeUsedSeconds": 0,
            "totalExecutions": 0,
        }
        assert run["status"] == "COMPLETED"
        assert run["durationMs"] >= QUICK["latency_ms"]
        assert after["computeUsedSeconds"] == pytest.approx(run["durationMs"] / 1000)
        assert after["computeUsedSeconds"] >= 0.05
        assert after["totalExecutions"] == 1

    async def test_a_used_quota_refuses_runs_until_it_is_lifted(
        self, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        program = await create_program(client, configuration=QUICK)
        await set_quota(settings, tenant.slug, 0.01)
        assert (await self.usage(client))["computeQuotaSeconds"] == 0.01
        first = await execute(client, program["id"], wait=True)  # 0 used: allowed
        used = (await self.usage(client))["computeUsedSeconds"]
        counts = await client.data(COUNTS)

        refused = await execute(client, program["id"], wait=True)

        assert first["status"] == "COMPLETED"
        assert used >= 0.05
        assert refused["__typename"] == "QuotaExceededError"
        assert refused["code"] == "QUOTA_EXCEEDED"
        assert (refused["limit"], refused["used"]) == (0.01, pytest.approx(used))
        assert await client.data(COUNTS) == counts, "nothing stored, nothing audited"
        assert (await self.usage(client))["totalExecutions"] == 1

        await set_quota(settings, tenant.slug, None)
        again = await execute(client, program["id"], wait=True)

        assert again["__typename"] == "Execution"
        assert again["status"] == "COMPLETED"
        usage = await self.usage(client)
        assert usage["computeQuotaSeconds"] is None
        assert usage["computeUsedSeconds"] == pytest.approx(used + again["durationMs"] / 1000)
        assert usage["totalExecutions"] == 2

    async def test_a_zero_quota_refuses_the_first_run(
        self, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        program = await create_program(client)
        await set_quota(settings, tenant.slug, 0)

        refused = await execute(client, program["id"])

        assert refused["__typename"] == "QuotaExceededError"
        assert (refused["limit"], refused["used"]) == (0, 0)
        assert await client.data(COUNTS) == {
            "executions": {"totalCount": 0},
            "auditLogs": {"totalCount": 0},
        }

    async def test_a_used_quota_refuses_a_members_run_and_hides_nothing_more(
        self, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        """A member's start reads the program through the member's visibility, with the quota."""
        someone = await member(client, "USER")
        theirs = await create_program(someone.client)
        hidden = await create_program(client, visibility="PRIVATE")
        await set_quota(settings, tenant.slug, 0)

        refused = await execute(someone.client, theirs["id"])
        not_seen = await execute(someone.client, hidden["id"])

        assert refused["__typename"] == "QuotaExceededError"
        assert (refused["limit"], refused["used"]) == (0, 0)
        assert not_seen["__typename"] == "NotFoundError", "a hidden program before the quota"
        await set_quota(settings, tenant.slug, None)
        assert (await execute(someone.client, theirs["id"]))["__typename"] == "Execution"
        assert (await execute(someone.client, hidden["id"]))["__typename"] == "NotFoundError"

    async def test_other_organizations_are_unaffected(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        other = client.acting_as((await new_tenant(app)).admin_key)
        mine = await create_program(client, configuration=QUICK)
        theirs = await create_program(other, configuration=QUICK)
        await set_quota(settings, tenant.slug, 0)

        refused = await execute(client, mine["id"])
        ran = await execute(other, theirs["id"], wait=True)

        assert refused["__typename"] == "QuotaExceededError"
        assert ran["status"] == "COMPLETED"
        assert (await self.usage(client))["computeUsedSeconds"] == 0
        theirs_usage = await self.usage(other)
        assert theirs_usage["computeQuotaSeconds"] is None
        assert theirs_usage["computeUsedSeconds"] == pytest.approx(ran["durationMs"] / 1000)

    async def test_set_quota_names_an_existing_organization(self, settings: Settings) -> None:
        with pytest.raises(NotFound):
            await set_quota(settings, f"no-such-{uuid.uuid4().hex[:8]}", 1.0)

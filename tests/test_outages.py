"""When a dependency fails — the database cut or silent, the pub/sub backend gone — every client
gets a clear, retryable answer in GraphQL form within bounded time, and all is well once it is
back. The database goes through a TCP proxy the tests cut and silence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from dspex_gql.config import BroadcastSettings, DatabaseSettings, Settings
from tests.support.app import make_settings, running
from tests.support.external_services import ON_POSTGRESQL, REDIS, service_url
from tests.support.factories import create_program, execute
from tests.support.faults import TcpProxy
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket

ME = "{ me { email } }"
EXECUTION_UPDATED = "subscription($id: ID!) { executionUpdated(id: $id) { id status } }"
BOUND = 30.0
"""Far more than the 1-second timeouts below allow; reached only when a request hangs."""


"""A connection to cut needs a database server: these run on PostgreSQL only."""


def through(proxy: TcpProxy, database_url: str) -> Settings:
    database = DatabaseSettings(
        url=proxy.url_for(database_url),
        migrate_on_start=False,
        connect_timeout_seconds=1,
        statement_timeout_seconds=1,
    )
    return make_settings(database_url, database=database)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, Tenant]]:
    async with running(settings) as app:
        yield app, await new_tenant(app)


async def ask(client: GraphQLClient, request_id: str) -> Any:
    headers = client.headers | {"x-request-id": request_id}
    async with asyncio.timeout(BOUND):
        return await client.http.post("/graphql", json={"query": ME}, headers=headers)


@ON_POSTGRESQL
class TestTheDatabaseUnavailable:
    async def test_a_request_is_told_to_retry_with_its_request_id(
        self, database_proxy: TcpProxy, database_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """It failed authentication with a plain-text 500 and a traceback per request."""
        async with (
            serving(through(database_proxy, database_url)) as (app, tenant),
            GraphQLClient.for_app(app, tenant.admin_key) as client,
        ):
            database_proxy.cut()
            refused = await ask(client, "drill-cut")
            database_proxy.restore()
            after = await client.data(ME)

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "data": None,
            "errors": [
                {
                    "message": "The database is not answering; try again shortly",
                    "extensions": {
                        "code": "SERVICE_UNAVAILABLE",
                        "retryable": True,
                        "requestId": "drill-cut",
                    },
                }
            ],
        }
        assert after == {"me": {"email": tenant.admin_email}}
        assert not [r for r in caplog.records if r.exc_info], "no traceback per request"

    async def test_a_silent_database_is_an_error_within_the_timeouts_not_a_hang(
        self, database_proxy: TcpProxy, database_url: str
    ) -> None:
        async with (
            serving(through(database_proxy, database_url)) as (app, tenant),
            GraphQLClient.for_app(app, tenant.admin_key) as client,
        ):
            database_proxy.silence()
            silent = await ask(client, "drill-silent")
            database_proxy.restore()
            after = await client.data(ME)

        assert silent.status_code == 503
        assert silent.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert after == {"me": {"email": tenant.admin_email}}

    async def test_an_open_websocket_is_told_and_carries_on_afterwards(
        self, database_proxy: TcpProxy, database_url: str
    ) -> None:
        async with (
            serving(through(database_proxy, database_url)) as (app, tenant),
            Socket(app, tenant.admin_key) as socket,
        ):
            database_proxy.cut()
            during = await socket.subscribe(ME, {})
            database_proxy.restore()
            after = await socket.subscribe(ME, {})

        told = during[0]
        errors = told["payload"] if told["type"] == "error" else told["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert after[0]["payload"] == {"data": {"me": {"email": tenant.admin_email}}}

    async def test_a_websocket_opened_meanwhile_authenticates_once_it_is_back(
        self, database_proxy: TcpProxy, database_url: str
    ) -> None:
        async with serving(through(database_proxy, database_url)) as (app, tenant):
            database_proxy.cut()
            async with Socket(app, tenant.admin_key) as socket:
                during = await socket.subscribe(ME, {})
                database_proxy.restore()
                after = await socket.subscribe(ME, {})

        told = during[0]
        errors = told["payload"] if told["type"] == "error" else told["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert after[0]["payload"] == {"data": {"me": {"email": tenant.admin_email}}}


class TestAFailureOutsideGraphQL:
    async def test_answers_in_graphql_form_with_an_error_id(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Whatever fails before a response starts (here a route that raises) answers like
        GraphQL, not with a plain-text 500."""

        async def broken() -> None:
            raise RuntimeError("internal detail")

        app.add_api_route("/broken", broken)
        async with GraphQLClient.for_app(app) as client:
            response = await client.http.get("/broken", headers={"x-request-id": "drill-500"})

        error = response.json()["errors"][0]
        assert response.status_code == 500
        assert error["message"] == f"Unexpected error (error id {error['extensions']['errorId']})"
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"] == "drill-500"
        assert "internal detail" not in response.text
        logged = [r for r in caplog.records if error["extensions"]["errorId"] in r.getMessage()]
        assert [(r.levelno, bool(r.exc_info)) for r in logged] == [(logging.ERROR, True)]


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    target = urlsplit(service_url(REDIS, "Redis"))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as started:
        yield started


def with_hub(proxy: TcpProxy, database_url: str, heartbeat: float) -> Settings:
    broadcast = BroadcastSettings(
        url=f"redis://127.0.0.1:{proxy.port}/0", heartbeat_seconds=heartbeat
    )
    return make_settings(database_url, broadcast=broadcast)


class TestThePubSubBackendUnavailable:
    async def test_a_silent_backend_never_holds_up_a_mutation(
        self, database_url: str, redis_proxy: TcpProxy
    ) -> None:
        """Each executeProgram waited for its event to be published: as long as the pub/sub
        timeout (here a minute) when the backend stopped answering."""
        settings = with_hub(redis_proxy, database_url, heartbeat=60)
        async with (
            serving(settings) as (app, tenant),
            GraphQLClient.for_app(app, tenant.admin_key) as client,
        ):
            program = await create_program(client)
            redis_proxy.silence()
            async with asyncio.timeout(BOUND):
                done = [await execute(client, program["id"], wait=True) for _ in range(3)]
            redis_proxy.restore()

        assert [execution["status"] for execution in done] == ["COMPLETED"] * 3

    async def test_subscribers_are_told_to_subscribe_again(
        self, database_url: str, redis_proxy: TcpProxy
    ) -> None:
        """They got "Unexpected error"."""
        settings = with_hub(redis_proxy, database_url, heartbeat=0.2)
        async with serving(settings) as (app, tenant):
            async with GraphQLClient.for_app(app, tenant.admin_key) as client:
                program = await create_program(client, configuration={"latency_ms": 60_000})
                execution = await execute(client, program["id"])
            async with Socket(app, tenant.admin_key) as socket:

                def outage(message: dict[str, Any]) -> bool:
                    if message["type"] == "next" and "errors" not in message["payload"]:
                        redis_proxy.silence()  # once the snapshot came
                    return "errors" in message.get("payload", {})

                told = await socket.subscribe(
                    EXECUTION_UPDATED, {"id": execution["id"]}, until=outage
                )
            redis_proxy.restore()

        error = told[-1]["payload"]["errors"][0]
        assert error["message"] == "Live updates are unavailable right now; subscribe again shortly"
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert error["extensions"]["retryable"] is True

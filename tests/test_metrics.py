"""`/metrics`: what a Prometheus scrape shows after real requests, runs and subscriptions, and
who may scrape it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from dspex_gql.config import ExecutionSettings, MetricsSettings, ServerSettings, Settings
from dspex_gql.runtime import Runtime
from tests.support.app import make_settings, running
from tests.support.factories import create_program, execute, until_running
from tests.support.http_client import GraphQLClient
from tests.support.processes import Server, clean_env, free_port
from tests.support.pubsub import Progress, read_until
from tests.support.tenants import new_tenant
from tests.support.websocket_client import Socket

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]

PRICED = {"model": "metrics-model", "prompt_price_per_1k": 2.0, "completion_price_per_1k": 4.0}
SLOW = {"latency_ms": 60_000}
WATCH = "subscription($id: ID!) { executionUpdated(id: $id) { status } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"


def parse(text: str) -> Series:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: GraphQLClient) -> Series:
    response = await client.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def moved(before: Series, after: Series, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


class TestOperations:
    async def test_counts_each_operation_by_name_and_type_with_its_time(
        self, client: GraphQLClient
    ) -> None:
        before = await scrape(client)
        for _ in range(2):
            await client.data("query ListPrograms { programs { totalCount } }")
        await client.data("{ programs { totalCount } }")
        await client.data("mutation Unused { __typename }")
        after = await scrape(client)

        operations = "dspex_graphql_operations_total"
        assert moved(before, after, operations, operation="ListPrograms", type="query") == 2
        assert moved(before, after, operations, operation="anonymous", type="query") == 1
        assert moved(before, after, operations, operation="Unused", type="mutation") == 1
        durations = "dspex_graphql_operation_duration_seconds_count"
        assert moved(before, after, durations, operation="ListPrograms") == 2
        assert moved(before, after, "dspex_graphql_operation_duration_seconds_sum",
                     operation="ListPrograms") > 0  # fmt: skip

    async def test_counts_errors_by_code(self, client: GraphQLClient) -> None:
        before = await scrape(client)
        await client.acting_as(None).execute("query Private { programs { totalCount } }")
        await client.execute("{ nothingHere }")
        after = await scrape(client)

        errors = "dspex_graphql_errors_total"
        assert moved(before, after, errors, code="UNAUTHENTICATED") == 1
        assert moved(before, after, errors, code="NONE") == 1  # a validation error
        operations = "dspex_graphql_operations_total"
        assert moved(before, after, operations, operation="Private", type="query") == 1

    async def test_labels_at_most_the_configured_number_of_operation_names(
        self, database_url: str, tenant_free_settings: Settings
    ) -> None:
        settings = tenant_free_settings.model_copy(
            update={"metrics": MetricsSettings(max_operation_names=2)}
        )
        async with running(settings) as app, _admin(app) as client:
            for name in ("First", "Second", "Third", "Fourth"):
                await client.data(f"query {name} {{ __typename }}")
            after = await scrape(client)

        names = {
            dict(labels)["operation"]
            for name, labels in after
            if name == "dspex_graphql_operations_total" and after[name, labels] > 0
        }
        assert names == {"First", "Second", "other"}


class TestRuns:
    async def test_counts_runs_by_terminal_status_and_the_models_tokens_and_cost(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client, configuration=PRICED)
        failing = await create_program(client, configuration={"fail_rate": 1.0})
        before = await scrape(client)
        done = await execute(client, program["id"], wait=True)
        failed = await execute(client, failing["id"], wait=True)
        after = await scrape(client)

        assert (done["status"], failed["status"]) == ("COMPLETED", "FAILED")
        finished = "dspex_runs_finished_total"
        assert moved(before, after, finished, kind="execution", status="completed") == 1
        assert moved(before, after, finished, kind="execution", status="failed") == 1
        model = "metrics-model"
        tokens = "dspex_lm_tokens_total"
        assert moved(before, after, tokens, model=model, kind="prompt") == done["promptTokens"]
        assert (
            moved(before, after, tokens, model=model, kind="completion") == done["completionTokens"]
        )
        assert moved(before, after, "dspex_lm_cost_usd_total", model=model) == pytest.approx(
            done["cost"]
        )
        assert done["cost"] > 0
        calls = "dspex_lm_calls_total"
        assert moved(before, after, calls, model=model, outcome="ok") == 1
        assert moved(before, after, calls, model="unknown", outcome="error") == 1


@pytest.fixture
def tenant_free_settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        execution=ExecutionSettings(
            max_concurrency=1, shutdown_grace_seconds=0, progress_interval_ms=20
        ),
    )


@pytest.fixture
async def one_slot_app(tenant_free_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(tenant_free_settings) as app:
        yield app


class TestLiveState:
    async def test_shows_open_subscriptions_and_the_jobs_running_and_waiting(
        self, one_slot_app: FastAPI
    ) -> None:
        async with _admin(one_slot_app) as client:
            key = client.credential
            assert key is not None
            program = await create_program(client, configuration=SLOW)
            first = await execute(client, program["id"])
            second = await execute(client, program["id"])
            await until_running(one_slot_app, key, first["id"])
            async with Socket(one_slot_app, key) as socket:
                watching = await socket.start(WATCH, {"id": second["id"]})
                assert (await socket.next_payload(watching))["data"] is not None
                live = await scrape(client)
                for execution in (first, second):
                    await client.data(CANCEL, id=execution["id"])
                await socket.results(watching)  # it ends with the run
                ended = await scrape(client)

        assert value(live, "dspex_graphql_subscriptions_active") == 1
        assert value(live, "dspex_orchestrator_jobs_running", lane="shared") == 1
        assert value(live, "dspex_orchestrator_jobs_waiting", lane="shared") == 1
        assert value(ended, "dspex_graphql_subscriptions_active") == 0
        subscriptions = ("dspex_graphql_operations_total", {"operation": "anonymous"})
        # this one, and until_running's (ended by its client)
        assert value(ended, subscriptions[0], **subscriptions[1], type="subscription") == 2
        assert value(ended, "dspex_orchestrator_jobs_running", lane="shared") == 0
        assert value(ended, "dspex_orchestrator_jobs_waiting", lane="shared") == 0
        cancelled = ("dspex_runs_finished_total", {"kind": "execution", "status": "cancelled"})
        assert value(ended, cancelled[0], **cancelled[1]) == 2

    async def test_counts_every_socket_of_a_shared_subscription(self, app: FastAPI) -> None:
        """Three sockets watch one execution through one shared execution of the subscription
        (`graphql/shared_subscriptions.py`): three open subscriptions, three operations."""
        async with _admin(app) as client:
            key = client.credential
            assert key is not None
            execution = await execute(
                client, (await create_program(client, configuration=SLOW))["id"]
            )
            before = await scrape(client)
            async with Socket(app, key) as a, Socket(app, key) as b, Socket(app, key) as c:
                watching = [(s, await s.start(WATCH, {"id": execution["id"]})) for s in (a, b, c)]
                for socket, operation in watching:
                    assert (await socket.next_payload(operation))["data"] is not None
                live = await scrape(client)
                await client.data(CANCEL, id=execution["id"])
                for socket, operation in watching:
                    await socket.results(operation)
                ended = await scrape(client)

        assert value(live, "dspex_graphql_subscriptions_active") == 3
        assert value(ended, "dspex_graphql_subscriptions_active") == 0
        operations = ("dspex_graphql_operations_total", {"operation": "anonymous"})
        assert moved(before, ended, operations[0], **operations[1], type="subscription") == 3

    async def test_shows_events_a_slow_subscriber_never_saw(self, app: FastAPI) -> None:
        hub = _runtime(app).hub
        async with _admin(app) as client:
            before = await scrape(client)
            async with (
                hub.subscribe("metrics-test", Progress) as unread,
                hub.subscribe("metrics-test", Progress) as read,
            ):
                for step in range(3):
                    await hub.publish("metrics-test", Progress(sequence=step, run="a", step=step))
                await hub.publish("metrics-test", Progress(sequence=9, run="last"))
                seen = await read_until(read, lambda event: event.run == "last")
                after = await scrape(client)
                assert [event.step for event in await _two(unread)] == [2, 0]

        missed_by_the_reader = 3 - len([event for event in seen if event.run == "a"])
        assert moved(before, after, "dspex_pubsub_coalesced_total") == 2 + missed_by_the_reader
        assert value(after, "dspex_pubsub_backlog") == 0
        assert value(after, "dspex_pubsub_undelivered_total") == 0


async def _two(events: AsyncIterator[Progress]) -> list[Progress]:
    async with asyncio.timeout(5):
        return [await anext(events), await anext(events)]


class TestProtection:
    async def test_with_a_token_only_its_bearer_may_scrape(self, database_url: str) -> None:
        settings = make_settings(database_url, metrics=MetricsSettings(token=SecretStr("s3cret")))
        async with running(settings) as app, GraphQLClient.for_app(app, None) as client:
            without = await client.http.get("/metrics")
            wrong = await client.http.get("/metrics", headers={"authorization": "Bearer nope"})
            right = await client.http.get("/metrics", headers={"authorization": "Bearer s3cret"})

        assert without.status_code == wrong.status_code == 401
        assert without.headers["www-authenticate"] == "Bearer"
        assert right.status_code == 200
        assert "dspex_graphql_operations_total" in right.text

    async def test_without_a_token_a_server_on_a_public_address_refuses(
        self, database_url: str
    ) -> None:
        settings = make_settings(database_url, server=ServerSettings(host="0.0.0.0"))
        async with running(settings) as app, GraphQLClient.for_app(app, None) as client:
            refused = await client.http.get("/metrics")

        assert refused.status_code == 403
        assert "DSPEX_METRICS_TOKEN" in refused.text

    async def test_can_be_turned_off(self, database_url: str) -> None:
        settings = make_settings(database_url, metrics=MetricsSettings(enabled=False))
        async with running(settings) as app, GraphQLClient.for_app(app, None) as client:
            assert (await client.http.get("/metrics")).status_code == 404

    def test_a_bad_setting_is_refused_clearly(self) -> None:
        with pytest.raises(ValueError, match="less than or equal to 65535"):
            MetricsSettings(port=70_000)


class TestSeparatePort:
    async def test_serve_exposes_metrics_on_their_own_port_only(self, tmp_path: Path) -> None:
        port = free_port()
        server = Server(tmp_path, clean_env() | {"DSPEX_METRICS_PORT": str(port)})
        try:
            server.wait_ready()
            await server.graphql("query Hello { __typename }")
            async with httpx.AsyncClient() as http:
                own = await http.get(f"http://127.0.0.1:{port}/metrics")
                api = await http.get(f"{server.url}/metrics")
        finally:
            server.stop()

        series = parse(own.text)
        assert own.status_code == 200
        assert value(series, "dspex_graphql_operations_total", operation="Hello", type="query") == 1
        assert api.status_code == 404


def _runtime(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@asynccontextmanager
async def _admin(app: FastAPI) -> AsyncIterator[GraphQLClient]:
    """A client of `app` acting as the admin of a new organization."""
    tenant = await new_tenant(app)
    async with GraphQLClient.for_app(app, tenant.admin_key) as client:
        yield client

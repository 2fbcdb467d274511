"""A run calls at most `DSPEX_DAG_MAX_PARALLEL_NODES` programs at once: a node waiting for a slot
is PENDING, not RUNNING, and its time starts with its call."""

from __future__ import annotations

import itertools

import pytest
from fastapi import FastAPI

from dspex_gql.config import DagSettings, Settings
from tests.dags.runs_support import (
    CANCEL_RUN,
    GET_RUN,
    active_dag,
    call,
    finished,
    nodes_of,
    program,
    started,
    until_node_running,
)
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


class TestOneSlot:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, dag=DagSettings(max_parallel_nodes=1))

    async def test_independent_nodes_run_one_after_another(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        answer = await program(client, "question -> answer", latency_ms=30)
        nodes = [call(name, answer, {"question": "$context.question"}) for name in "abc"]
        run_id = await started(client, await active_dag(client, nodes), {"question": "q"})

        run = await finished(app, tenant.admin_key, run_id)

        assert run["status"] == "SUCCESS", run
        spans = sorted((node["startedAt"], node["completedAt"]) for node in run["nodeExecutions"])
        for (_, ended), (began, _) in itertools.pairwise(spans):
            assert began >= ended, spans  # no node's time counts its wait for the slot


class TestTwoSlots:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, dag=DagSettings(max_parallel_nodes=2))

    async def test_nodes_past_the_bound_wait_pending_and_a_cancel_skips_them(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        held = await program(client, "question -> answer", latency_ms=600_000)
        nodes = [call(name, held, {"question": "$context.question"}) for name in "abcd"]
        run_id = await started(client, await active_dag(client, nodes), {"question": "q"})
        await until_node_running(app, tenant.admin_key, run_id, "a")
        await until_node_running(app, tenant.admin_key, run_id, "b")

        waiting = nodes_of((await client.data(GET_RUN, id=run_id))["dagRun"])
        cancelled = nodes_of((await client.data(CANCEL_RUN, id=run_id))["cancelDagRun"])

        assert [waiting[name]["status"] for name in "abcd"] == [
            "RUNNING",
            "RUNNING",
            "PENDING",
            "PENDING",
        ]
        assert [waiting[name]["startedAt"] for name in "cd"] == [None, None]
        for name in "ab":
            assert cancelled[name]["status"] == "CANCELLED"
            assert cancelled[name]["execution"]["status"] == "CANCELLED"
        for name in "cd":
            node = cancelled[name]
            assert (node["status"], node["error"], node["startedAt"]) == (
                "SKIPPED",
                "Cancelled by user",
                None,
            )
            assert node["executions"]["totalCount"] == 0

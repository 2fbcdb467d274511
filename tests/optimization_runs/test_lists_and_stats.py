"""A run's evaluations page by page, lists of runs and a program's optimization stats."""

from __future__ import annotations

import statistics

import pytest
from fastapi import FastAPI

from tests.optimization_runs.helpers import RUNS, Node, cancel, completed, program_state
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import SPACE, create_space, landscape_program, start
from tests.support.tenants import Tenant

ALWAYS_FAILS = [{"name": "fail_rate", "type": "CHOICE", "constraints": {"choices": [1]}}]
"""A space whose only configuration makes every example's run fail."""

SLOW = [{"name": "latency_ms", "type": "CHOICE", "constraints": {"choices": [60_000]}}]
"""A space whose only configuration takes a minute an example."""


EVALUATIONS_PAGE = """query($id: ID!, $orderBy: [EvaluationOrder!], $after: String) {
  optimizationRun(id: $id) { evaluations(orderBy: $orderBy, first: 3, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id iteration score } } } }"""


class TestEvaluations:
    async def test_pages_in_score_order_failures_last(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        fails = {"name": "fail_rate", "type": "CHOICE", "constraints": {"choices": [0, 1]}}
        space = await create_space(client, variables=[*SPACE, fails])
        program_id = await landscape_program(client, space["id"])
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=10)
        order = [{"field": "SCORE", "direction": "DESC"}, {"field": "ITERATION"}]

        nodes: list[Node] = []
        after = None
        while True:
            page = (await client.data(EVALUATIONS_PAGE, id=run["id"], orderBy=order, after=after))[
                "optimizationRun"
            ]["evaluations"]
            assert page["totalCount"] == 10
            nodes += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

        stored = run["evaluations"]["nodes"]
        failed = [e["iteration"] for e in stored if e["score"] is None]
        assert 0 < len(failed) < 10, "some configurations fail, not all"
        assert all(e["status"] == "FAILED" for e in stored if e["score"] is None)
        scored = sorted(
            (e for e in stored if e["score"] is not None),
            key=lambda e: (-e["score"], e["iteration"]),
        )
        assert [n["iteration"] for n in nodes] == [e["iteration"] for e in scored] + failed
        assert run["results"]["failedEvaluations"] == len(failed)
        assert run["bestScore"] == scored[0]["score"]
        assert run["averageScore"] == pytest.approx(statistics.fmean(e["score"] for e in scored))


class TestListsAndStats:
    async def test_program_stats_and_filtered_ordered_lists(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        failing = await create_space(client, variables=ALWAYS_FAILS)
        slow = await create_space(client, variables=SLOW)
        program_id = await landscape_program(client, space["id"])
        other_program = await landscape_program(client, space["id"])
        a = await completed(app, client, tenant.admin_key, program_id, maxIterations=4, seed=1)
        b = await completed(app, client, tenant.admin_key, program_id, maxIterations=8, seed=2)
        broken = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            maxIterations=2,
            variableSpaceId=failing["id"],
        )
        elsewhere = await completed(app, client, tenant.admin_key, other_program, maxIterations=2)
        cancelled = await start(client, program_id, variableSpaceId=slow["id"], maxIterations=40)
        assert (await cancel(client, cancelled["id"]))["status"] == "CANCELLED"

        program = await program_state(client, program_id)
        scores = [a["bestScore"], b["bestScore"]]
        assert broken["bestScore"] is None
        assert program["stats"] == {
            "optimizationCount": 4,
            "bestScore": max(scores),
            "averageScore": pytest.approx(statistics.fmean(scores)),
        }
        listed = program["optimizationRuns"]
        assert listed["totalCount"] == 4
        assert {node["id"] for node in listed["nodes"]} == {
            a["id"],
            b["id"],
            broken["id"],
            cancelled["id"],
        }
        assert elsewhere["id"] not in {node["id"] for node in listed["nodes"]}

        filter = {"status": {"eq": "COMPLETED"}, "programId": {"eq": program_id}}
        order = [{"field": "BEST_SCORE", "direction": "DESC"}]
        pages: list[Node] = []
        after = None
        while True:
            page = (await client.data(RUNS, filter=filter, orderBy=order, first=2, after=after))[
                "optimizationRuns"
            ]
            pages.append(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert [page["totalCount"] for page in pages] == [3, 3]
        ids = [node["id"] for page in pages for node in page["nodes"]]
        by_score = sorted([a, b], key=lambda run: -run["bestScore"])
        assert ids == [by_score[0]["id"], by_score[1]["id"], broken["id"]], "nulls last"

        best_only = await client.data(
            RUNS, filter=filter | {"bestScore": {"gte": max(scores)}}, orderBy=order
        )
        assert [n["id"] for n in best_only["optimizationRuns"]["nodes"]] == [by_score[0]["id"]]

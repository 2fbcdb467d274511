"""Stop rules: the cost budget, the timeout and convergence."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.optimization_runs.helpers import ALWAYS_RIGHT, Node, completed, program_state
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, landscape_program, training_data
from tests.support.tenants import Tenant


class TestStopRules:
    async def test_the_cost_budget(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], prompt_price_per_1k=1.0)

        result = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(8),
            maxIterations=20,
            budget={"maxCost": 0.2},
        )

        costs = [e["cost"] for e in result["evaluations"]["nodes"]]
        assert result["status"] == "COMPLETED"
        assert result["results"]["stopReason"] == "max_cost"
        assert all(cost > 0 for cost in costs)
        assert 1 <= result["iterationsCompleted"] < 20
        assert result["iterationsCompleted"] == len(costs)
        assert result["totalCost"] == pytest.approx(sum(costs))
        assert result["results"]["totalCost"] == pytest.approx(sum(costs))
        assert result["totalCost"] >= 0.2
        assert result["totalCost"] - costs[-1] < 0.2, "it stops as soon as the budget is spent"

    async def test_the_timeout(self, app: FastAPI, tenant: Tenant, client: GraphQLClient) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=50)

        result = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(8),
            concurrency=8,
            maxIterations=40,
            budget={"timeoutSeconds": 0.3},
        )

        assert result["status"] == "COMPLETED"
        assert result["results"]["stopReason"] == "timeout"
        assert result["iterationsCompleted"] < 40
        assert result["evaluationCount"] == result["iterationsCompleted"]
        assert result["results"]["evaluations"] == result["iterationsCompleted"]
        assert 0.29 <= result["durationSeconds"] < 10
        assert result["progressPercentage"] == 100
        assert (await program_state(client, program_id))["status"] == "READY"

    @pytest.mark.parametrize(
        ("landscape", "score"),
        [
            pytest.param(ALWAYS_RIGHT, 1.0, id="always"),
            pytest.param(
                {"kind": "distance", "optimum": {"unknown": 1}, "width": 0.01}, 0.0, id="never"
            ),
        ],
    )
    async def test_convergence_on_a_flat_landscape(
        self,
        app: FastAPI,
        tenant: Tenant,
        client: GraphQLClient,
        landscape: Node,
        score: float,
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], landscape)

        result = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(8),
            maxIterations=30,
            convergencePatience=3,
        )

        assert result["status"] == "COMPLETED"
        assert result["results"]["stopReason"] == "converged"
        assert result["iterationsCompleted"] == 4, "the first score, then 3 without a gain"
        assert {e["score"] for e in result["evaluations"]["nodes"]} == {score}
        assert result["bestScore"] == score
        assert result["results"]["bestIteration"] == 0
        assert result["convergenceStatus"] == "CONVERGED"
        assert result["convergenceScore"] == 1.0

    async def test_failed_evaluations_count_towards_convergence(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], fail_rate=1)

        result = await completed(
            app, client, tenant.admin_key, program_id, maxIterations=30, convergencePatience=3
        )

        assert result["results"]["stopReason"] == "converged"
        assert result["iterationsCompleted"] == 3, "no score ever: 3 iterations without a gain"
        assert result["bestScore"] is None

    async def test_without_patience_a_flat_landscape_runs_to_max_iterations(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        flat = {"kind": "distance", "optimum": {"unknown": 1}, "width": 0.01}
        program_id = await landscape_program(client, space["id"], flat)

        result = await completed(app, client, tenant.admin_key, program_id, maxIterations=12)

        assert result["results"]["stopReason"] == "max_iterations"
        assert result["iterationsCompleted"] == 12
        assert result["convergenceStatus"] == "PLATEAU"
        assert result["convergenceScore"] == 1.0

"""Objectives, listed score first, and the Pareto frontier of a run's evaluations."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.optimization_runs.helpers import ALWAYS_RIGHT, OPTIONS, cancel, completed
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import SPACE, create_space, landscape_program, start, training_data
from tests.support.tenants import Tenant


def dominates(a: tuple[float, ...], b: tuple[float, ...], maximize: tuple[bool, ...]) -> bool:
    signed = [(x, y) if up else (-x, -y) for x, y, up in zip(a, b, maximize, strict=True)]
    return all(x >= y for x, y in signed) and any(x > y for x, y in signed)


def non_dominated(vectors: dict[str, tuple[float, ...]], maximize: tuple[bool, ...]) -> set[str]:
    """The ids of the first evaluation (in iteration order) of each value vector no other
    evaluation's dominates."""
    kept: dict[tuple[float, ...], str] = {}
    for id, vector in vectors.items():
        if not any(dominates(other, vector, maximize) for other in vectors.values()):
            kept.setdefault(vector, id)
    return set(kept.values())


class TestObjectives:
    @pytest.mark.parametrize("strategy", ["RANDOM", "BAYESIAN", "EVOLUTIONARY"])
    async def test_the_pareto_frontier_is_the_non_dominated_evaluations(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient, strategy: str
    ) -> None:
        latency = {"name": "latency_ms", "type": "INTEGER", "constraints": {"min": 0, "max": 20}}
        space = await create_space(client, variables=[*SPACE, latency])
        program_id = await landscape_program(
            client, space["id"], prompt_price_per_1k=1.0, completion_price_per_1k=3.0
        )
        objectives = [{"name": "SCORE"}, {"name": "COST"}, {"name": "LATENCY"}]

        result = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            strategy=strategy,
            objectives=objectives,
            trainingData=training_data(8),
            concurrency=8,
            maxIterations=14,
            strategyOptions=OPTIONS[strategy],
        )

        assert result["status"] == "COMPLETED", result
        assert result["objectives"] == [
            {"name": "SCORE", "direction": "MAXIMIZE"},
            {"name": "COST", "direction": "MINIMIZE"},
            {"name": "LATENCY", "direction": "MINIMIZE"},
        ]
        evaluations = {e["id"]: e for e in result["evaluations"]["nodes"]}
        vectors: dict[str, tuple[float, ...]] = {
            id: (e["score"], e["cost"], e["latencyMs"]) for id, e in evaluations.items()
        }
        assert len({vector[1] for vector in vectors.values()}) > 1, "cost varies"
        maximize = (True, False, False)
        frontier = {point["evaluationId"]: point for point in result["paretoFrontier"]}
        assert set(frontier) == non_dominated(vectors, maximize)
        assert len(frontier) >= 1
        for id, point in frontier.items():
            score, cost, latency_ms = vectors[id]
            assert point["configuration"] == evaluations[id]["configuration"]
            assert point["objectives"] == {
                "SCORE": score,
                "COST": pytest.approx(cost),
                "LATENCY": pytest.approx(latency_ms),
            }

    async def test_with_score_alone_the_frontier_is_the_first_best_evaluation(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], ALWAYS_RIGHT)

        result = await completed(app, client, tenant.admin_key, program_id, maxIterations=10)

        evaluations = result["evaluations"]["nodes"]
        best = [e for e in evaluations if e["score"] == result["bestScore"]]
        assert len(best) == 10, "a tie, of which the frontier keeps the first"
        assert result["paretoFrontier"] == [
            {
                "evaluationId": best[0]["id"],
                "configuration": best[0]["configuration"],
                "objectives": {"SCORE": result["bestScore"]},
            }
        ]

    async def test_objectives_are_listed_score_first(self, client: GraphQLClient) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=60_000)

        run = await start(
            client,
            program_id,
            objectives=[{"name": "LATENCY", "direction": "MINIMIZE"}, {"name": "SCORE"}],
        )

        assert run["objectives"] == [
            {"name": "SCORE", "direction": "MAXIMIZE"},
            {"name": "LATENCY", "direction": "MINIMIZE"},
        ]
        await cancel(client, run["id"])

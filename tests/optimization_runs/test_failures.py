"""Failed evaluations and examples, and a run an internal error ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from dspex_gql.app import create_app
from dspex_gql.config import Settings
from dspex_gql.engine.adapters.base import Adapter, AdapterRequest, AdapterResult
from dspex_gql.engine.custom import CustomProgramRegistry
from tests.optimization_runs.helpers import (
    ALWAYS_RIGHT,
    apply_best,
    completed,
    configurations,
    get_run,
    program_state,
)
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    OPTIMUM,
    create_space,
    finished,
    landscape_program,
    start,
    training_data,
)
from tests.support.tenants import Tenant


class TestFailures:
    async def test_evaluations_where_every_example_fails(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], fail_rate=1)

        result = await completed(app, client, tenant.admin_key, program_id, maxIterations=4)
        refused = await apply_best(client, result["id"])

        assert result["status"] == "COMPLETED"
        assert result["results"]["stopReason"] == "max_iterations"
        assert result["results"]["failedEvaluations"] == 4
        assert result["results"]["bestIteration"] is None
        assert (result["bestScore"], result["bestConfiguration"]) == (None, None)
        assert result["averageScore"] is None
        assert result["paretoFrontier"] == []
        assert result["evaluationCount"] == 4
        for evaluation in result["evaluations"]["nodes"]:
            assert evaluation["status"] == "FAILED"
            assert evaluation["score"] is None
            assert evaluation["latencyMs"] is None
            assert evaluation["metrics"]["failures"] == 12
            assert "Mock failure injected" in evaluation["metrics"]["errors"][0]
            assert len(evaluation["metrics"]["errors"]) <= 3
        assert (await program_state(client, program_id))["status"] == "READY"
        assert refused["__typename"] == "ConflictError", refused

    async def test_an_example_that_fails_scores_zero(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(
            client, space["id"], ALWAYS_RIGHT, fail_on={"question": "question 2"}
        )

        result = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(4),
            maxIterations=2,
        )

        for evaluation in result["evaluations"]["nodes"]:
            assert evaluation["status"] == "COMPLETED"
            assert evaluation["exampleScores"] == [1.0, 1.0, 0.0, 1.0]
            assert evaluation["score"] == 0.75
            assert evaluation["metrics"]["failures"] == 1
        assert result["bestScore"] == 0.75
        assert result["results"]["failedEvaluations"] == 0


class Explodes:
    """A CUSTOM implementation with a bug that only the small model reaches."""

    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult:
        if request.configuration.get("model") == "small":
            raise RuntimeError("secret internals")
        return await adapter.run(request)


class TestInternalFailure:
    @pytest.fixture
    async def app(self, settings: Settings) -> AsyncIterator[FastAPI]:
        registry = CustomProgramRegistry.from_entry_points()
        registry.register("explodes", Explodes())
        application = create_app(settings, custom_programs=registry)
        async with application.router.lifespan_context(application):
            yield application

    async def test_fails_the_run_and_keeps_its_evaluations(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program = await create_program(
            client,
            type="CUSTOM",
            implementation="explodes",
            configuration={"landscape": {"kind": "distance", "optimum": OPTIMUM}},
            variableSpaceId=space["id"],
        )
        run = await start(
            client,
            program["id"],
            strategyOptions={"initial": {"temperature": 0.7, "model": "large"}},
            strategy="SIMBA",
            trainingData=training_data(8),
            maxIterations=40,
        )

        done = await finished(app, tenant.admin_key, run["id"])
        result = await get_run(client, run["id"])

        assert done["status"] == "FAILED", done
        assert result["error"].startswith("Internal error (error id ")
        assert "secret" not in result["error"]
        assert result["completedAt"] is not None
        assert result["results"] is None
        assert done["program"]["status"] == "READY"
        assert 1 <= result["iterationsCompleted"] < 40
        assert result["evaluationCount"] == result["iterationsCompleted"]
        assert all(c["model"] == "large" for c in configurations(result))
        assert result["bestScore"] == max(e["score"] for e in result["evaluations"]["nodes"])

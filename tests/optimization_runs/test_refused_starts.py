"""Starts that are refused, and leave nothing behind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import OptimizationSettings, Settings
from tests.optimization_runs.helpers import (
    RUNS,
    Node,
    audit_rows,
    cancel,
    completed,
    configurations,
    program_state,
    visible_program,
)
from tests.support.app import make_settings
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    OPTIMUM,
    SPACE,
    create_space,
    finished,
    landscape_program,
    start,
    training_data,
)
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant

USAGE = "{ organization { computeQuotaSeconds computeUsedSeconds } }"


INVALID: list[Any] = [
    pytest.param({"metric": "nope"}, "metric", id="unknown-metric"),
    pytest.param({"seed": -1}, "seed", id="negative-seed"),
    pytest.param({"trainingData": []}, "trainingData", id="no-examples"),
    pytest.param(
        {"trainingData": [{"inputs": {}, "expected": {"answer": "a"}}]},
        "trainingData[0].inputs.question",
        id="missing-input",
    ),
    pytest.param(
        {"trainingData": [{"inputs": {"question": "q", "extra": 1}, "expected": {"answer": "a"}}]},
        "trainingData[0].inputs.extra",
        id="unknown-input",
    ),
    pytest.param(
        {"trainingData": [{"inputs": {"question": "q"}, "expected": {"nope": "a"}}]},
        "trainingData[0].expected.nope",
        id="unknown-output",
    ),
    pytest.param(
        {"trainingData": [*training_data(2), {"inputs": {"question": "q"}}]},
        "trainingData[2]",
        id="no-expected",
    ),
    pytest.param({"trainingData": ["text"]}, "trainingData[0]", id="not-an-object"),
    pytest.param({"maxIterations": 0}, "maxIterations", id="no-iterations"),
    pytest.param({"maxIterations": 10_001}, "maxIterations", id="too-many-iterations"),
    pytest.param({"concurrency": 0}, "concurrency", id="no-concurrency"),
    pytest.param({"concurrency": 17}, "concurrency", id="too-much-concurrency"),
    pytest.param({"convergencePatience": 0}, "convergencePatience", id="no-patience"),
    pytest.param({"budget": {"maxCost": -1}}, "budget.maxCost", id="negative-cost"),
    pytest.param({"budget": {"timeoutSeconds": 0}}, "budget.timeoutSeconds", id="no-time"),
    pytest.param({"name": "  "}, "name", id="blank-name"),
    pytest.param({"strategyOptions": {"bogus": 1}}, "strategyOptions.bogus", id="unknown-option"),
    pytest.param({"strategyOptions": [1]}, "strategyOptions", id="options-not-an-object"),
    pytest.param(
        {"strategy": "GRID_SEARCH", "strategyOptions": {"gridPoints": 1}},
        "strategyOptions.gridPoints",
        id="bad-option",
    ),
    pytest.param(
        {"strategy": "SIMBA", "strategyOptions": {"batchSize": 13}},
        "strategyOptions.batchSize",
        id="batch-larger-than-the-data",
    ),
    pytest.param(
        {"strategy": "SIMBA", "strategyOptions": {"initial": {"temperature": 9}}},
        "strategyOptions.initial.temperature",
        id="initial-outside-the-space",
    ),
    pytest.param({"objectives": [{"name": "COST"}]}, "objectives", id="no-score"),
    pytest.param({"objectives": [{"name": "SCORE"}, {"name": "SCORE"}]}, "objectives", id="twice"),
    pytest.param({"objectives": []}, "objectives", id="no-objectives"),
    pytest.param(
        {"objectives": [{"name": "SCORE", "direction": "MINIMIZE"}]},
        "objectives[0].direction",
        id="minimized-score",
    ),
    pytest.param(
        {"objectives": [{"name": "SCORE"}, {"name": "COST", "direction": "MAXIMIZE"}]},
        "objectives[1].direction",
        id="maximized-cost",
    ),
]


class TestRefusedStarts:
    async def nothing_stored(self, client: GraphQLClient, program_id: str) -> None:
        program = await program_state(client, program_id)
        assert program["status"] == "READY"
        assert program["optimizationRuns"]["totalCount"] == 0
        assert program["stats"]["optimizationCount"] == 0
        assert (await client.data(RUNS))["optimizationRuns"]["totalCount"] == 0
        assert await audit_rows(client, "optimization.start") == []

    @pytest.mark.parametrize(("fields", "field"), INVALID)
    async def test_invalid_input(self, client: GraphQLClient, fields: Node, field: str) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])

        refused = await start(client, program_id, **fields)

        assert refused["__typename"] == "ValidationError", refused
        assert refused["code"] == "VALIDATION_FAILED"
        assert [e["field"] for e in refused["fieldErrors"]] == [field], refused
        await self.nothing_stored(client, program_id)

    async def test_an_unknown_metric_lists_the_available_ones(self, client: GraphQLClient) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])

        refused = await start(client, program_id, metric="nope")

        (problem,) = refused["fieldErrors"]
        assert "nope" in problem["message"]
        for metric in ("exact_match", "f1", "contains"):
            assert metric in problem["message"]

    async def test_every_problem_is_reported_at_once(self, client: GraphQLClient) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])

        refused = await start(
            client,
            program_id,
            metric="nope",
            maxIterations=0,
            concurrency=0,
            objectives=[{"name": "COST"}],
        )

        assert refused["__typename"] == "ValidationError", refused
        fields = {e["field"] for e in refused["fieldErrors"]}
        assert fields == {"metric", "maxIterations", "concurrency", "objectives"}
        await self.nothing_stored(client, program_id)

    async def test_a_strategy_option_problem_is_reported_with_the_others(
        self, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])

        refused = await start(
            client, program_id, maxIterations=0, trainingData=[], strategyOptions={"bogus": 1}
        )

        fields = {e["field"] for e in refused["fieldErrors"]}
        assert fields == {"maxIterations", "trainingData", "strategyOptions.bogus"}

    async def test_unknown_and_other_organizations_programs_and_spaces_are_not_found(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        other = client.acting_as((await new_tenant(app)).admin_key)
        their_space = await create_space(other)
        their_program = await landscape_program(other, their_space["id"])
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        missing = str(uuid.uuid4())

        for given in (
            {"programId": missing},
            {"programId": their_program},
            {"programId": program_id, "variableSpaceId": missing},
            {"programId": program_id, "variableSpaceId": their_space["id"]},
        ):
            refused = await start(client, program_id, **given)
            assert refused["__typename"] == "NotFoundError", (given, refused)
            assert refused["id"] in (given.get("variableSpaceId"), given["programId"])
        await self.nothing_stored(client, program_id)
        assert (await program_state(other, their_program))["status"] == "READY"

    async def test_a_draft_program_cannot_be_optimized(self, client: GraphQLClient) -> None:
        space = await create_space(client)
        draft = await create_program(client, ready=False, variableSpaceId=space["id"])

        refused = await start(client, draft["id"])

        assert refused["__typename"] == "ConflictError", refused
        assert "DRAFT" in refused["message"]
        program = await program_state(client, draft["id"])
        assert (program["status"], program["optimizationRuns"]["totalCount"]) == ("DRAFT", 0)

    async def test_a_program_is_optimized_by_one_run_at_a_time(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=60_000)
        first = await start(client, program_id, maxIterations=40)

        refused = await start(client, program_id)

        assert refused["__typename"] == "ConflictError", refused
        assert "already being optimized" in refused["message"]
        program = await program_state(client, program_id)
        assert (program["status"], program["optimizationRuns"]["totalCount"]) == (
            "OPTIMIZING",
            1,
        )
        assert len(await audit_rows(client, "optimization.start")) == 1
        await cancel(client, first["id"])

    async def test_a_variable_space_is_required(self, client: GraphQLClient) -> None:
        program = await create_program(
            client, configuration={"landscape": {"kind": "distance", "optimum": OPTIMUM}}
        )

        refused = await start(client, program["id"])

        assert refused["__typename"] == "ValidationError", refused
        assert [e["field"] for e in refused["fieldErrors"]] == ["variableSpaceId"]
        await self.nothing_stored(client, program["id"])

    async def test_a_given_variable_space_replaces_the_programs(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        own = await create_space(client)
        other = await create_space(client, variables=[SPACE[0]])
        program_id = await landscape_program(client, own["id"])

        result = await completed(
            app, client, tenant.admin_key, program_id, variableSpaceId=other["id"], maxIterations=3
        )

        assert result["variableSpace"]["id"] == other["id"]
        assert all(set(c) == {"temperature"} for c in configurations(result))

    async def test_viewers_cannot_start_runs(self, client: GraphQLClient) -> None:
        viewer = await member(client, "VIEWER")
        space = await create_space(client)
        program_id = await visible_program(client, space["id"])

        refused = await start(viewer.client, program_id)

        assert refused["__typename"] == "ForbiddenError", refused
        await self.nothing_stored(client, program_id)

    async def test_users_cannot_optimize_others_programs(self, client: GraphQLClient) -> None:
        user = await member(client, "USER")
        space = await create_space(client, visibility="ORGANIZATION")
        program_id = await visible_program(client, space["id"])

        refused = await start(user.client, program_id)

        assert refused["__typename"] == "ForbiddenError", refused
        await self.nothing_stored(client, program_id)

    async def test_compute_is_counted_and_a_used_quota_refuses_the_next_run(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=10)
        await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(4),
            concurrency=4,
            maxIterations=5,
        )
        used = (await client.data(USAGE))["organization"]["computeUsedSeconds"]
        await set_quota(settings, tenant.slug, 0.01)

        refused = await start(client, program_id)

        assert used >= 5 * 0.01
        assert refused["__typename"] == "QuotaExceededError", refused
        assert (refused["limit"], refused["used"]) == (0.01, pytest.approx(used))
        program = await program_state(client, program_id)
        assert (program["status"], program["optimizationRuns"]["totalCount"]) == ("READY", 1)

    async def test_a_used_up_quota(
        self, client: GraphQLClient, tenant: Tenant, settings: Settings
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        await set_quota(settings, tenant.slug, 0)

        refused = await start(client, program_id)

        assert refused["__typename"] == "QuotaExceededError", refused
        assert refused["code"] == "QUOTA_EXCEEDED"
        assert (refused["limit"], refused["used"]) == (0, 0)
        await self.nothing_stored(client, program_id)


class TestTrainingDataLimit:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(
            database_url, optimization=OptimizationSettings(max_training_examples=5)
        )

    async def test_too_many_examples_are_refused(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])

        refused = await start(client, program_id, trainingData=training_data(6))
        allowed = await start(client, program_id, trainingData=training_data(5), maxIterations=1)

        assert refused["__typename"] == "ValidationError", refused
        assert [(e["field"], e["code"]) for e in refused["fieldErrors"]] == [
            ("trainingData", "too_many")
        ]
        assert "5" in refused["fieldErrors"][0]["message"]
        assert allowed["__typename"] == "OptimizationRun", allowed
        assert (await finished(app, tenant.admin_key, allowed["id"]))["status"] == "COMPLETED"

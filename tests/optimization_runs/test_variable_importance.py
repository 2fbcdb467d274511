"""Variable importance, over a space's runs or one run's."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from tests.optimization_runs.helpers import completed
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, landscape_program, training_data
from tests.support.tenants import Tenant

IMPORTANCE = """query($space: ID!, $runs: [ID!]) {
  variableImportance(variableSpaceId: $space, optimizationRunIds: $runs) {
    variable importance } }"""
RUN_IMPORTANCE = """query($id: ID!) { optimizationRun(id: $id) {
  variableImportance { variable importance } } }"""


class TestVariableImportance:
    async def test_the_variable_that_matters_ranks_first(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        landscape = {"kind": "distance", "optimum": {"temperature": 0.7}, "width": 0.3}
        program_id = await landscape_program(client, space["id"], landscape)
        run = await completed(
            app,
            client,
            tenant.admin_key,
            program_id,
            trainingData=training_data(20),
            maxIterations=30,
        )

        over_space = (await client.data(IMPORTANCE, space=space["id"], runs=None))[
            "variableImportance"
        ]
        of_run = (await client.data(IMPORTANCE, space=space["id"], runs=[run["id"]]))[
            "variableImportance"
        ]
        on_run = (await client.data(RUN_IMPORTANCE, id=run["id"]))["optimizationRun"][
            "variableImportance"
        ]

        assert over_space == of_run == on_run
        assert [item["variable"] for item in of_run] == ["temperature", "model"]
        assert sum(item["importance"] for item in of_run) == pytest.approx(1.0)
        assert of_run[0]["importance"] > 0.8, of_run

    async def test_too_few_evaluations_give_no_importance(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=1)

        found = (await client.data(RUN_IMPORTANCE, id=run["id"]))["optimizationRun"][
            "variableImportance"
        ]

        assert {item["variable"] for item in found} == {"temperature", "model"}
        assert all(item["importance"] == 0 for item in found)

    async def test_unknown_spaces_and_runs_of_other_spaces_are_not_found(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        other = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=2)

        for variables in (
            {"space": other["id"], "runs": [run["id"]]},
            {"space": space["id"], "runs": [str(uuid.uuid4())]},
            {"space": str(uuid.uuid4()), "runs": None},
        ):
            (error,) = await client.errors(IMPORTANCE, **variables)
            assert error["extensions"]["code"] == "NOT_FOUND", (variables, error)

    async def test_a_space_without_runs_has_no_importance(self, client: GraphQLClient) -> None:
        space = await create_space(client)

        found = await client.data(IMPORTANCE, space=space["id"], runs=None)

        assert found["variableImportance"] == []

"""Applying a run's best configuration to its program."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from tests.optimization_runs.helpers import (
    apply_best,
    audit_rows,
    completed,
    program_state,
    visible_program,
)
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, landscape_program
from tests.support.people import member
from tests.support.tenants import Tenant


class TestApplyBest:
    async def test_a_new_version_carries_the_best_configuration(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], temperature=0.1, extra="kept")
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=6)
        parent = await program_state(client, program_id)

        applied = await apply_best(client, run["id"])

        assert applied["__typename"] == "Program", applied
        assert applied["id"] != program_id
        assert applied["parent"] == {"id": program_id}
        assert applied["version"] == parent["version"] + 1 == 2
        assert applied["status"] == "READY"
        assert applied["configuration"] == parent["configuration"] | run["bestConfiguration"]
        assert applied["configuration"]["extra"] == "kept"
        assert applied["performanceMetrics"] == {
            "optimizationRunId": run["id"],
            "metric": "exact_match",
            "score": run["bestScore"],
        }
        children = (
            await client.data(
                "query($id: ID!) { program(id: $id) { children { id } } }", id=program_id
            )
        )["program"]["children"]
        assert {"id": applied["id"]} in children
        rows = await audit_rows(client, "optimization.applyBest")
        assert [(r["resourceType"], r["resourceId"]) for r in rows] == [("Program", applied["id"])]
        assert rows[0]["changes"]["optimizationRunId"] == run["id"]

    async def test_applying_to_a_new_version_increments_its_version(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        first = await completed(app, client, tenant.admin_key, program_id, maxIterations=3)
        child = await apply_best(client, first["id"])

        second = await completed(app, client, tenant.admin_key, child["id"], maxIterations=3)
        grandchild = await apply_best(client, second["id"])

        assert grandchild["parent"] == {"id": child["id"]}
        assert grandchild["version"] == 3

    async def test_unknown_runs_are_not_found(self, client: GraphQLClient) -> None:
        missing = str(uuid.uuid4())

        refused = await apply_best(client, missing)

        assert refused["__typename"] == "NotFoundError", refused
        assert refused["id"] == missing

    async def test_viewers_cannot_apply(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        viewer = await member(client, "VIEWER")
        space = await create_space(client)
        program_id = await visible_program(client, space["id"])
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=2)

        refused = await apply_best(viewer.client, run["id"])

        assert refused["__typename"] == "ForbiddenError", refused
        assert len((await program_state(client, program_id))["optimizationRuns"]["nodes"]) == 1
        assert await audit_rows(client, "optimization.applyBest") == []

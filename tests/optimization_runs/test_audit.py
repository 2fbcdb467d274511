"""The audit trail of starting and cancelling runs."""

from __future__ import annotations

from fastapi import FastAPI

from tests.optimization_runs.helpers import audit_rows, cancel
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, landscape_program, start
from tests.support.tenants import Tenant


class TestAudit:
    async def test_starting_and_cancelling_are_recorded(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=60_000)
        await start(client, program_id, maxIterations=0)
        run = await start(client, program_id, strategy="BAYESIAN", maxIterations=40)
        await start(client, program_id)
        await cancel(client, run["id"])
        await cancel(client, run["id"])

        started = await audit_rows(client, "optimization.start")
        cancelled = await audit_rows(client, "optimization.cancel")

        assert len(started) == 1, "refused starts are not recorded"
        (row,) = started
        assert (row["resourceType"], row["resourceId"]) == ("OptimizationRun", run["id"])
        assert row["actor"] == {"id": tenant.admin_id}
        assert row["changes"] | {"name": None} == {
            "name": None,
            "programId": program_id,
            "variableSpaceId": space["id"],
            "strategy": "BAYESIAN",
            "metric": "exact_match",
            "maxIterations": 40,
            "trainingExamples": 12,
        }
        assert row["changes"]["name"] == run["name"]
        assert len(cancelled) == 1, "a refused cancel is not recorded"
        assert (cancelled[0]["resourceType"], cancelled[0]["resourceId"]) == (
            "OptimizationRun",
            run["id"],
        )
        assert cancelled[0]["changes"]["status"][1] == "CANCELLED"

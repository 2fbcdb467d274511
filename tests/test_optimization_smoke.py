from __future__ import annotations

from fastapi import FastAPI

from tests.client import GraphQLClient
from tests.optimizing import create_space, finished, landscape_program, start
from tests.tenants import Tenant


async def test_a_random_run_completes(app: FastAPI, tenant: Tenant, client: GraphQLClient) -> None:
    space = await create_space(client)
    program_id = await landscape_program(client, space["id"])
    run = await start(client, program_id)
    assert run["__typename"] == "OptimizationRun", run
    assert run["status"] == "PENDING"
    done = await finished(app, tenant.admin_key, run["id"])
    print(done)
    assert done["status"] == "COMPLETED", done
    assert done["iterationsCompleted"] == 10

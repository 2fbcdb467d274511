"""An optimization run whose database becomes unavailable while it runs (each outage of
`tests/support/outages.py`): its loop goes on, the evaluations it could not write wait for the
next write, and once the database is back every evaluation is stored once and the run
completes."""

from __future__ import annotations

from tests.support.app import running
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    create_space,
    finished,
    finished_some,
    iterations,
    landscape_program,
    start,
    training_data,
)
from tests.support.outages import EACH_OUTAGE, Outage, until_a_run_tries_to_write
from tests.support.tenants import new_tenant

pytestmark = EACH_OUTAGE

ITERATIONS = 40
"""At ~40 ms each (two examples of a 20 ms program), most of them run after the outage begins."""


async def test_every_evaluation_is_stored_once_and_the_run_completes(outage: Outage) -> None:
    async with running(outage.settings) as app:
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            space = await create_space(client)
            program = await landscape_program(client, space["id"], latency_ms=20)
            run = await start(
                client, program, maxIterations=ITERATIONS, trainingData=training_data(2)
            )
            await finished_some(app, tenant.admin_key, run["id"], at_least=3)
            await until_a_run_tries_to_write(outage)
            done = await finished(app, tenant.admin_key, run["id"])
            stored = await iterations(client, run["id"])

    assert (done["status"], done["iterationsCompleted"]) == ("COMPLETED", ITERATIONS)
    assert stored == list(range(ITERATIONS)), "each iteration once, none lost"

"""A run whose terminal state the database refuses, for a reason no retry cures (a bug, data no
column takes), ends FAILED with "Internal error (error id …)" all the same: written without what
was refused, announced, and logged with its traceback. Before, such a run stayed PENDING or
RUNNING for as long as its process lived, and its subscribers waited with it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from dspex_gql.runtime import Runtime
from tests.dags.runs_support import active_dag, call, finished, nodes_of, started
from tests.support import optimizations
from tests.support.factories import create_program, execute, get_execution
from tests.support.faults import database_refuses
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

INTERNAL = "Internal error (error id "


def error_id(error: str, caplog: pytest.LogCaptureFixture) -> str:
    """The id the message gives, after checking the log has it with the traceback."""
    assert error.startswith(INTERNAL), error
    found = error.removeprefix(INTERNAL).rstrip(")")
    logged = [record for record in caplog.records if found in record.getMessage()]
    assert logged, f"error id {found} is not in the log"
    assert logged[0].exc_info is not None
    return found


async def test_an_execution_whose_result_is_refused_ends_failed(
    app: FastAPI, client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    program = await create_program(client)
    runtime: Runtime = app.state.runtime

    def completed_write(sql: str) -> bool:
        return sql.startswith("UPDATE executions SET") and "outputs" in sql

    with database_refuses(runtime.engine, completed_write) as refused:
        execution = await execute(client, program["id"], wait=True)

    assert refused
    assert execution["status"] == "FAILED"
    error_id(execution["error"], caplog)
    assert execution["outputs"] is None
    stored = await get_execution(client, execution["id"])
    assert (stored["status"], stored["error"]) == ("FAILED", execution["error"])


async def test_a_dag_run_whose_nodes_are_refused_ends_failed_and_the_next_run_succeeds(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    program = await create_program(client)
    dag = await active_dag(
        client,
        [
            call("first", program["id"], {"question": "$context.q"}),
            call("second", program["id"], {"question": "$nodes.first.answer"}, "first"),
        ],
    )
    runtime: Runtime = app.state.runtime

    def executions_of_nodes(sql: str) -> bool:
        return sql.startswith("INSERT INTO executions ")

    with database_refuses(runtime.engine, executions_of_nodes) as refused:
        run = await finished(app, tenant.admin_key, await started(client, dag, {"q": "Why?"}))

    assert refused
    assert run["status"] == "FAILED"
    error_id(run["error"], caplog)
    assert run["result"] is None
    for node in nodes_of(run).values():  # never stored as started: their writes were refused
        assert (node["status"], node["error"]) == ("SKIPPED", run["error"])
        assert node["executions"]["totalCount"] == 0

    again = await finished(app, tenant.admin_key, await started(client, dag, {"q": "Why?"}))
    assert again["status"] == "SUCCESS", again


async def test_an_optimization_whose_evaluations_are_refused_ends_failed_and_frees_its_program(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    space = await optimizations.create_space(client)
    program_id = await optimizations.landscape_program(client, space["id"])
    runtime: Runtime = app.state.runtime

    def evaluations(sql: str) -> bool:
        return sql.startswith("INSERT INTO evaluations")

    with database_refuses(runtime.engine, evaluations) as refused:
        started_run = await optimizations.start(client, program_id, maxIterations=3)
        run = await optimizations.finished(app, tenant.admin_key, started_run["id"])

    assert refused
    assert run["status"] == "FAILED"
    error_id(run["error"], caplog)
    assert run["program"]["status"] == "READY"

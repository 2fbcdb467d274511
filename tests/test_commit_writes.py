"""A new DAG, a run's start: their rows are written at commit, on PostgreSQL in one statement (one
round trip), on SQLite one statement per table, each row after the row it references, sent with
the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from tests.dags.helpers import LIST, create_dag, one_node
from tests.dags.runs_support import (
    active_dag,
    call,
    execute_dag,
    finished,
    program,
    two_in_a_row,
)
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


@contextmanager
def writes_to(app: FastAPI, *tables: str) -> Iterator[list[list[str]]]:
    """For each statement inserting into any of `tables`, in the order they ran: those tables."""
    seen: list[list[str]] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        written = [table for table in tables if f"INSERT INTO {table} " in statement]
        if written:
            seen.append(sorted(written, key=statement.index))

    engine = app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def one_statement_on_postgresql(app: FastAPI) -> bool:
    return bool(app.state.runtime.engine.dialect.name == "postgresql")


async def test_a_dag_its_first_version_and_its_audit_row_are_written_together(
    app: FastAPI, client: GraphQLClient
) -> None:
    definition = await one_node(client)

    with writes_to(app, "dags", "dag_versions", "audit_logs") as seen:
        dag = await create_dag(client, definition, name="together")
        taken = await create_dag(client, definition, name="together")

    assert dag["__typename"] == "Dag", dag
    assert [v["version"] for v in dag["versions"]] == [1]
    assert taken["__typename"] == "ConflictError", taken
    tables = ["dags", "dag_versions", "audit_logs"]
    if one_statement_on_postgresql(app):
        assert seen == [tables, tables]  # the second refused by the unique index of live names
    else:  # one statement a table, sent to SQLite with the commit, where the second stops
        assert seen == [[table] for table in tables] * 2


async def test_of_two_dags_created_at_once_with_one_name_one_is_refused(
    client: GraphQLClient,
) -> None:
    """Both pass every check before either commits: the unique index of live names decides at
    commit, and the loser leaves no row behind."""
    definition = await one_node(client)

    results = await asyncio.gather(
        *(create_dag(client, definition, name="at once") for _ in range(4))
    )

    assert sorted(result["__typename"] for result in results) == ["ConflictError"] * 3 + ["Dag"]
    listed = await client.data(LIST, filter={"name": {"eq": "at once"}})
    assert [dag["name"] for dag in listed["dags"]["nodes"]] == ["at once"]
    audit = await client.data(
        '{ auditLogs(first: 50, filter: {action: {eq: "dag.create"}}) { totalCount } }'
    )
    assert audit["auditLogs"]["totalCount"] == 1


async def test_a_dag_run_its_nodes_and_its_audit_row_are_written_together(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    dag_id = await two_in_a_row(client)

    with writes_to(app, "dag_runs", "node_executions", "audit_logs") as seen:
        run = await execute_dag(client, dag_id, {"question": "What is DSPy?"})

    assert run["__typename"] == "DagRun", run
    assert [n["nodeName"] for n in run["nodeExecutions"]] == ["first", "second"]
    if one_statement_on_postgresql(app):
        assert seen == [["dag_runs", "audit_logs", "node_executions"]]
    else:
        assert sorted(seen) == [["audit_logs"], ["dag_runs"], ["node_executions"]]
        assert seen.index(["dag_runs"]) < seen.index(["node_executions"])
    done = await finished(app, tenant.admin_key, run["id"])
    assert done["status"] == "SUCCESS", done


async def test_an_execution_and_its_audit_row_are_written_together(
    app: FastAPI, client: GraphQLClient
) -> None:
    created = await create_program(client)

    with writes_to(app, "executions", "audit_logs") as seen:
        execution = await execute(client, created["id"], wait=True)

    assert execution["__typename"] == "Execution", execution
    assert execution["status"] == "COMPLETED", execution
    if one_statement_on_postgresql(app):
        assert seen == [["executions", "audit_logs"]]
    else:
        assert sorted(seen) == [["audit_logs"], ["executions"]]


async def test_a_start_refused_writes_nothing(app: FastAPI, client: GraphQLClient) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("only", answer, {"question": "$context.question"})])

    with writes_to(app, "dag_runs", "node_executions", "audit_logs") as seen:
        refused = await execute_dag(client, dag_id, {"question": ["not", "a", "string"]})

    assert refused["__typename"] == "ValidationError", refused
    assert seen == []

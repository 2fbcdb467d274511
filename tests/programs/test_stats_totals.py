"""`program { stats }` reads running totals the database keeps (migration 0010's triggers): they
must equal what the program's executions say, whichever path wrote the executions (a run's
write-behind, a DAG's bulk writes, a cancel), and count every one of many concurrent executions.
The sweep after a crash is covered in `tests/test_process.py`, the backfill of existing history
in `tests/test_migrations.py`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from dspex_gql.dags.writing import EXECUTIONS
from dspex_gql.db.bulk import upsert_many
from dspex_gql.runtime import Runtime
from tests.dags.runs_support import active_dag, call, finished, started
from tests.programs.helpers import PRICED_FAILING_ON_BOOM, STATS_QUERY
from tests.support.factories import create_program, errors, execute
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

HISTORY = """query($id: ID!) { program(id: $id) { executions(first: 100) { totalCount nodes {
    status durationMs promptTokens completionTokens cost createdAt } } } }"""
CANCEL = (
    "mutation($id: ID!) { cancelExecution(id: $id) { __typename ... on Execution { status } "
    + errors("NotFoundError")
    + "} }"
)


async def stats_of(client: GraphQLClient, program_id: str) -> dict[str, Any]:
    program: dict[str, Any] = (await client.data(STATS_QUERY, id=program_id))["program"]
    return program


async def totals_from_history(client: GraphQLClient, program_id: str) -> dict[str, Any]:
    """What the stats should say, worked out from the executions themselves."""
    executions = (await client.data(HISTORY, id=program_id))["program"]["executions"]
    rows = executions["nodes"]
    assert executions["totalCount"] == len(rows)
    completed = [row for row in rows if row["status"] == "COMPLETED"]
    failed = [row for row in rows if row["status"] == "FAILED"]
    durations = [row["durationMs"] for row in completed if row["durationMs"] is not None]
    finished_count = len(completed) + len(failed)
    return {
        "stats": {
            "executionCount": len(rows),
            "completedCount": len(completed),
            "failedCount": len(failed),
            "successRate": len(completed) / finished_count if finished_count else 0.0,
            "averageDurationMs": sum(durations) / len(durations) if durations else None,
            "totalCost": sum(row["cost"] or 0.0 for row in rows),
            "totalTokens": sum(
                (row["promptTokens"] or 0) + (row["completionTokens"] or 0) for row in rows
            ),
        },
        "lastExecutedAt": max((row["createdAt"] for row in rows), default=None),
    }


def approximately(expected: dict[str, Any]) -> dict[str, Any]:
    """Sums of floats kept as running totals differ from a fresh sum in the last bits."""
    stats = dict(expected["stats"])
    for name in ("successRate", "averageDurationMs", "totalCost"):
        if stats[name] is not None:
            stats[name] = pytest.approx(stats[name], rel=1e-9)
    return {**expected, "stats": stats}


async def test_totals_match_the_executions_whichever_path_wrote_them(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    program = await create_program(
        client,
        configuration=PRICED_FAILING_ON_BOOM,
    )
    for question in ("What is DSPy?", "boom", "A longer question, for other token counts"):
        await execute(client, program["id"], inputs={"question": question}, wait=True)
    slow = await execute(
        client,
        program["id"],
        variableConfiguration={"latency_ms": 60_000},
        inputs={"question": "s"},
    )
    assert (await client.data(CANCEL, id=slow["id"]))["cancelExecution"]["status"] == "CANCELLED"
    pipeline = [
        call("first", program["id"], {"question": "$context.question"}),
        call("second", program["id"], {"question": "$nodes.first.answer"}, "first"),
        call("third", program["id"], {"question": "$context.question"}, maxRetries=0),
    ]
    dag = await active_dag(client, pipeline)
    for question in ("Why?", "boom"):  # "boom" fails `first` and `third`, and skips `second`
        await finished(app, tenant.admin_key, await started(client, dag, {"question": question}))

    found = await stats_of(client, program["id"])

    assert found["stats"]["executionCount"] == 4 + 3 + 2
    assert found["stats"]["failedCount"] == 1 + 2
    assert found == approximately(await totals_from_history(client, program["id"]))


async def test_concurrent_executions_are_each_counted_once(client: GraphQLClient) -> None:
    program = await create_program(client, configuration={"fail_on": {"question": "boom"}})
    questions = [f"q{index}" for index in range(24)] + ["boom"] * 6

    await asyncio.gather(
        *(execute(client, program["id"], inputs={"question": q}, wait=True) for q in questions)
    )

    found = await stats_of(client, program["id"])
    assert (found["stats"]["executionCount"], found["stats"]["completedCount"]) == (30, 24)
    assert found["stats"]["failedCount"] == 6
    assert found == approximately(await totals_from_history(client, program["id"]))


async def test_rows_written_again_after_a_lost_commit_are_counted_once(
    app: FastAPI, tenant: Tenant, client: GraphQLClient
) -> None:
    """A DAG run's write whose commit went through though its answer was lost is written again
    with the next state (`db.bulk.upsert_many`): the totals must not count those rows twice."""
    program = await create_program(client, configuration=PRICED_FAILING_ON_BOOM)
    dag = await active_dag(client, [call("only", program["id"], {"question": "$context.q"})])
    await finished(app, tenant.admin_key, await started(client, dag, {"q": "Why?"}))
    before = await stats_of(client, program["id"])
    runtime: Runtime = app.state.runtime
    async with runtime.uow() as tx:
        query = select(EXECUTIONS).where(EXECUTIONS.c.program_id == uuid.UUID(program["id"]))
        rows = [dict(row) for row in (await tx.session.execute(query)).mappings()]
        await upsert_many(tx.session, EXECUTIONS, rows)

    assert len(rows) == 1
    assert await stats_of(client, program["id"]) == before

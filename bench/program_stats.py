"""`program(id) { stats }` as a program's history grows (issue 13, item 5): flat, not O(history).

    python -m bench.program_stats [--database-url URL] [--sizes 0,1000,10000,100000]
                                  [--requests 50]

One process and loop: uvicorn serving the app as a task, the client over real loopback HTTP with
the organization admin's API key. For each history size (cumulative), executions of one program
are inserted straight into the table (`db/bulk.insert_many`, 5,000 rows a statement: the stats
triggers fire as for any write), mixed COMPLETED / FAILED / CANCELLED with durations, tokens and
costs; then `--requests` sequential requests of

    program(id) { stats { executionCount completedCount failedCount successRate
                          averageDurationMs totalCost totalTokens } lastExecutedAt }

are timed at the client. Baseline in the same run, same database: the aggregate over the
program's executions that the service ran before migration 0010 (`recount_ms`, SQLAlchemy Core,
same engine factory), and its result, which must equal the service's answer. The insert time per
1,000 rows (triggers included) is printed for each step.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.common import (
    BenchOrganization,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    service_settings,
    summarize,
    versions,
    warn_if_busy,
)
from bench.httpclient import Connection, graphql, graphql_post
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.base import utcnow
from dspex_gql.db.bulk import insert_many
from dspex_gql.db.engine import create_engine
from dspex_gql.executions.models import Execution, ExecutionStatus

EXECUTIONS: Table = Execution.__table__  # type: ignore[assignment]
STATS = """query($id: ID!) { program(id: $id) {
  stats { executionCount completedCount failedCount successRate averageDurationMs totalCost
          totalTokens }
  lastExecutedAt } }"""
CHUNK = 5_000
STATUSES = (ExecutionStatus.COMPLETED,) * 8 + (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


def execution_rows(
    organization: BenchOrganization,
    program_id: str,
    count: int,
    start: int,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> list[dict[str, Any]]:
    """`count` finished executions of the program, created one millisecond apart."""
    now, chance = utcnow(), random.Random(start)
    rows = []
    for number in range(start, start + count):
        status = STATUSES[number % len(STATUSES)]
        created = now - timedelta(milliseconds=10_000_000 - number)
        rows.append(
            {
                "id": new_id(),
                "organization_id": organization.id,
                "created_by": organization.admin_id,
                "created_at": created,
                "updated_at": created,
                "program_id": uuid.UUID(program_id),
                "status": status,
                "sequence": 3,
                "inputs": {"question": f"q{number}"},
                "outputs": {"answer": "a"} if status is ExecutionStatus.COMPLETED else None,
                "error": None if status is ExecutionStatus.COMPLETED else "failed",
                "variable_configuration": None,
                "options": None,
                "duration_ms": chance.randint(1, 500),
                "prompt_tokens": chance.randint(10, 200),
                "completion_tokens": chance.randint(5, 100),
                "cost": chance.random() / 1000,
                "metadata": {},
                "trace": None,
                "started_at": created,
                "completed_at": created,
                "node_execution_id": None,
                "process_id": None,
            }
        )
    return rows


async def grow_history(
    engine: AsyncEngine, organization: BenchOrganization, program_id: str, count: int, start: int
) -> float:
    """Insert `count` executions; the milliseconds per 1,000 rows."""
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        rows = execution_rows(organization, program_id, min(CHUNK, count - offset), start + offset)
        async with AsyncSession(engine) as session, session.begin():
            await insert_many(session, EXECUTIONS, rows)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return round(elapsed_ms / count * 1000, 1) if count else 0.0


def _count_of(status: ExecutionStatus) -> Any:
    return func.count(case((Execution.status == status, 1)))


async def recount(engine: AsyncEngine, program_id: str) -> tuple[float, dict[str, Any]]:
    """The aggregate the service ran before 0010, and how long it took."""
    tokens = func.coalesce(Execution.prompt_tokens, 0) + func.coalesce(
        Execution.completion_tokens, 0
    )
    query = select(
        func.count(),
        _count_of(ExecutionStatus.COMPLETED),
        _count_of(ExecutionStatus.FAILED),
        func.avg(case((Execution.status == ExecutionStatus.COMPLETED, Execution.duration_ms))),
        func.coalesce(func.sum(Execution.cost), 0.0),
        func.coalesce(func.sum(tokens), 0),
    ).where(Execution.program_id == uuid.UUID(program_id))
    started = time.perf_counter()
    async with engine.connect() as connection:
        count, completed, failed, average, cost, total_tokens = (
            await connection.execute(query)
        ).one()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, {
        "executionCount": count,
        "completedCount": completed,
        "failedCount": failed,
        "averageDurationMs": None if average is None else float(average),
        "totalCost": float(cost),
        "totalTokens": int(total_tokens),
    }


def same_figures(service: dict[str, Any], counted: dict[str, Any]) -> bool:
    def close(a: Any, b: Any) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))
        return bool(a == b)

    return all(close(service[name], value) for name, value in counted.items())


async def measure(args: argparse.Namespace, url: str, organization: BenchOrganization) -> Any:
    app = create_app(service_settings(url))
    engine = create_engine(DatabaseSettings(url=url))
    sizes, found, total = args.sizes, [], 0
    try:
        async with serving(app) as port:
            connection = await Connection.open(port)
            program = await create_program(
                connection,
                organization.api_key,
                name="bench-stats",
                signatureSpec="question -> answer",
                initialize=True,
            )
            request = graphql_post(STATS, {"id": program["id"]}, api_key=organization.api_key)
            for size in sizes:
                log(f"history of {size} executions: inserting {size - total}, then timing")
                insert_ms = await grow_history(
                    engine, organization, program["id"], size - total, total
                )
                total = size
                await connection.close()  # idle past uvicorn's keep-alive while inserting
                connection = await Connection.open(port)
                answer = await graphql(
                    connection, STATS, {"id": program["id"]}, api_key=organization.api_key
                )
                samples = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status, _ = await connection.send(request)
                    samples.append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        raise RuntimeError(f"HTTP {status}")
                recounts = [await recount(engine, program["id"]) for _ in range(5)]
                counted = recounts[-1][1]
                stats = answer["program"]["stats"]
                found.append(
                    {
                        "executions": size,
                        "service_ms": summarize(samples),
                        "baseline_recount_ms": summarize([ms for ms, _ in recounts]),
                        "same_figures": same_figures(stats, counted),
                        "execution_count": stats["executionCount"],
                        "insert_ms_per_1000_rows": insert_ms,
                    }
                )
            await connection.close()
    finally:
        await engine.dispose()
    first, last = found[0]["service_ms"]["median"], found[-1]["service_ms"]["median"]
    return found, round(last / first, 2)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        sizes, growth = await measure(args, database.url, organization)
    return {
        "benchmark": "program_stats",
        "setup": (
            "uvicorn as a task of this process's loop, one keep-alive loopback connection, "
            "sequential requests with the organization admin's API key; executions inserted "
            f"straight into the table {CHUNK} rows a statement (the stats triggers fire)"
        ),
        "database": database.describe(),
        "versions": versions(),
        "machine": machine() | {"load_average_1m_before": load_before},
        "sizes": sizes,
        "service_median_growth_first_to_last": growth,
        "target": "flat: the median at the largest history within 1.5x of the median at the first",
        "target_met": growth <= 1.5 and all(size["same_figures"] for size in sizes),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--sizes", default="0,1000,10000,100000")
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",")]
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

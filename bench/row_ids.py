"""Row ids: inserting executions with random ids (UUIDv4, as before) against the service's
time-ordered ids (`ids.new_id`, UUIDv7), as the table grows.

    python -m bench.row_ids [--database-url URL] [--rounds 50] [--rows 1000]

A fresh database, an organization and one READY program made through the service's GraphQL API
(uvicorn as a task of this process). Then `--rounds` rounds, each inserting `--rows` executions of
that program twice, one transaction each, through the service's own bulk insert
(`db/bulk.insert_many`; the stats triggers fire as for any write): once with `uuid.uuid4()` ids
(the baseline: what the service did before) and once with `new_id()`, in alternating order, into
the same table, so both see the same table size. Printed: each variant's milliseconds per batch at
each tenth of the rounds, and the medians over the last half.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

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
    versions,
    warn_if_busy,
)
from bench.httpclient import Connection
from bench.program_stats import EXECUTIONS, execution_rows
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.bulk import insert_many
from dspex_gql.db.engine import create_engine
from dspex_gql.ids import new_id

VARIANTS: dict[str, Callable[[], uuid.UUID]] = {"uuid4_baseline": uuid.uuid4, "new_id": new_id}


async def a_program(url: str, organization: BenchOrganization) -> str:
    async with serving(create_app(service_settings(url))) as port:
        connection = await Connection.open(port)
        program = await create_program(
            connection,
            organization.api_key,
            name="bench-ids",
            signatureSpec="question -> answer",
            initialize=True,
        )
        await connection.close()
    return str(program["id"])


async def insert_ms(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    async with AsyncSession(engine) as session, session.begin():
        await insert_many(session, EXECUTIONS, rows)
    return (time.perf_counter() - started) * 1000


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    organization = await create_bench_organization(url)
    program_id = await a_program(url, organization)
    engine = create_engine(DatabaseSettings(url=url))
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    table_rows = 0
    try:
        for round_number in range(args.rounds):
            order = list(VARIANTS) if round_number % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                rows = execution_rows(
                    organization, program_id, args.rows, table_rows, VARIANTS[name]
                )
                samples[name].append(await insert_ms(engine, rows))
                table_rows += args.rows
            if (round_number + 1) % max(1, args.rounds // 10) == 0:
                log(
                    f"{table_rows} rows: "
                    + ", ".join(f"{name} {samples[name][-1]:.1f} ms" for name in VARIANTS)
                )
    finally:
        await engine.dispose()
    half = args.rounds // 2
    medians = {name: round(statistics.median(ms[half:]), 2) for name, ms in samples.items()}
    step = max(1, args.rounds // 10)
    return {
        "rows_per_batch": args.rows,
        "table_rows_at_end": table_rows,
        "ms_per_batch_by_table_rows": [
            {
                "table_rows_before": index * 2 * args.rows,
                **{name: round(samples[name][index], 1) for name in VARIANTS},
            }
            for index in range(0, args.rounds, step)
        ],
        "median_ms_per_batch_last_half": medians,
        "new_id_over_uuid4": round(medians["new_id"] / medians["uuid4_baseline"], 3),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    async with bench_database(args.database_url) as database:
        found = await measure(args, database.url)
    return {
        "benchmark": "row_ids",
        "setup": (
            "executions inserted through db/bulk.insert_many, one transaction per batch, the "
            "two id kinds alternating into the same table (stats triggers fire)"
        ),
        "database": database.describe(),
        "versions": versions("uuid-utils"),
        "machine": machine() | {"load_average_1m_before": load_before},
        **found,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

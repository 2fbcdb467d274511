"""Trips to aiosqlite's thread per use case on SQLite: each one a queue put, a thread wake-up and
(when awaited) an event-loop wake-up, so on a busy machine each costs more than SQLite's work.

    python -m bench.sqlite_trips [--repeats 20]

In process, on the service's runtime (`create_app` with its lifespan, uvicorn as a task of the
bench's loop, set-up through the GraphQL API with the admin's API key). Counted by wrapping
aiosqlite's queue of calls to its thread (`Connection._tx.put_nowait`): `awaited` are the calls
whose answer the caller waits for, `queued` those it does not wait for (a read-only
transaction's ROLLBACK, `db/sqlite_driver.py`). Each use case runs `--repeats` times after one
warm-up, counted while the call runs, with the orchestrator idle before the next one (the
writes of the execution it started come after it and are not counted):
- `execute_program_start`: `ExecutionService.start` of a 0 ms mock program (what
  `executeProgram` does before it answers);
- `program_get`: `ProgramService.get` (what `program(id)` does).

Baselines, same run, same engine: `raw_insert` (SQLAlchemy Core INSERT INTO executions in
`engine.begin()`) and `raw_read` (`engine.connect()`, one SELECT of the program's row).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from sqlalchemy import insert, select

from bench.breakdown import authenticated
from bench.common import (
    bench_database,
    create_bench_organization,
    emit,
    machine,
    run,
    service_settings,
    versions,
)
from bench.httpclient import Connection
from bench.raw_app import EXECUTIONS, PROGRAMS
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.db.base import utcnow
from dspex_gql.executions.service import StartExecution
from dspex_gql.runtime import Services

Step = Callable[[], Awaitable[object]]


class TripCounter:
    """Every call queued to any aiosqlite connection's thread, awaited or not."""

    def __init__(self) -> None:
        self.awaited = 0
        self.queued = 0
        self._original = aiosqlite.Connection._execute

    def install(self) -> None:
        counter, original = self, self._original

        async def counted(connection: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
            counter.awaited += 1
            return await original(connection, *args, **kwargs)  # type: ignore[no-untyped-call]

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign,assignment]

    def reset(self) -> None:
        self.awaited = self.queued = 0

    def count_queued(self, connection: aiosqlite.Connection) -> None:
        """Calls put on the queue without `_execute` (nobody waits for them); the thread reads
        the queue it was started with, this one forwards to it."""
        connection._tx = CountingQueue(connection._tx, self)  # type: ignore[assignment]


class CountingQueue:
    def __init__(self, queue: Any, counter: TripCounter) -> None:
        self._queue = queue
        self._counter = counter

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        if item[0] is None:
            self._counter.queued += 1
        self._queue.put_nowait(item)


async def per_call(counter: TripCounter, step: Step, settle: Step, repeats: int) -> dict[str, Any]:
    """Trips made while `step` runs; `settle` (untimed, uncounted) after each."""
    awaited = queued = 0
    for index in range(1 + repeats):
        counter.reset()
        await step()
        if index:
            awaited, queued = awaited + counter.awaited, queued + counter.queued
        await settle()
    return {"awaited": awaited / repeats, "queued": queued / repeats}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    counter = TripCounter()
    counter.install()
    original_connect = aiosqlite.Connection._connect

    async def connect_counted(connection: aiosqlite.Connection) -> aiosqlite.Connection:
        await original_connect(connection)
        counter.count_queued(connection)
        return connection

    aiosqlite.Connection._connect = connect_counted  # type: ignore[method-assign,assignment]
    async with bench_database(None) as database:
        organization = await create_bench_organization(database.url)
        app = create_app(service_settings(database.url))
        async with serving(app) as port:
            client = await Connection.open(port)
            program = await create_program(
                client,
                organization.api_key,
                name="trips",
                signatureSpec="question -> answer",
                configuration={"latency_ms": 0},
                initialize=True,
            )
            await client.close()
            runtime = app.state.runtime
            services = Services(runtime, await authenticated(app, organization.api_key))
            program_id = uuid.UUID(program["id"])
            engine = runtime.engine

            async def idle() -> None:
                while runtime.runs.orchestrator.running:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

            async def start() -> object:
                inputs = {"question": "q"}
                return await services.executions.start(StartExecution(program_id, inputs))

            async def raw_insert() -> None:
                now = utcnow()
                row = {
                    "id": uuid.uuid4(),
                    "organization_id": organization.id,
                    "program_id": program_id,
                    "status": "PENDING",
                    "sequence": 1,
                    "inputs": {"question": "q"},
                    "metadata": {},
                    "created_at": now,
                    "updated_at": now,
                }
                async with engine.begin() as connection:
                    await connection.execute(insert(EXECUTIONS).values(**row))

            async def raw_read() -> None:
                async with engine.connect() as connection:
                    query = select(PROGRAMS).where(PROGRAMS.c.id == program_id)
                    (await connection.execute(query)).one()

            repeats = args.repeats
            found = {
                "execute_program_start": await per_call(counter, start, idle, repeats),
                "program_get": await per_call(
                    counter, lambda: services.programs.get(program_id), idle, repeats
                ),
                "baseline_raw_insert": await per_call(counter, raw_insert, idle, repeats),
                "baseline_raw_read": await per_call(counter, raw_read, idle, repeats),
            }
    return {
        "benchmark": "sqlite_trips",
        "machine": machine(),
        "versions": versions(),
        "repeats": args.repeats,
        "trips_per_call": found,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

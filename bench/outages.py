"""What clients see while a dependency fails, measured through a TCP proxy we cut or silence.

    python -m bench.outages [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                            [--redis-url redis://127.0.0.1:6379/0] [--requests 50]

Three phases, each against its own baseline in the same run:
- `silent_pubsub`: executeProgram response time while the pub/sub backend (Redis) stops answering
  (publishing must never hold a mutation), against the same requests with Redis answering.
- `silent_database`: how long a request waits before it is told SERVICE_UNAVAILABLE when the
  database stops answering (bounded by the connect and statement timeouts, set here), and how long
  after the database is back the next request succeeds.
- `takeover`: a process loses the database; how long until another process (lease 3 s) has
  taken over its running execution, against the lease.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from fastapi import FastAPI
from tests.support.faults import TcpProxy

from bench.common import (
    BenchOrganization,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    summarize,
    versions,
)
from dspex_gql.app import create_app
from dspex_gql.config import (
    BroadcastSettings,
    DatabaseSettings,
    ExecutionSettings,
    ServerSettings,
    Settings,
)

EXECUTE = """mutation($id: ID!) { executeProgram(input: {programId: $id, inputs: {q: "x"}}) {
  ... on Execution { id } } }"""
CREATE = """mutation($configuration: JSON) { createProgram(input: {name: "outage",
  signatureSpec: "q -> a", initialize: true, configuration: $configuration}) {
  ... on Program { id } } }"""
STATUS = """query($id: ID!) { execution(id: $id) { status } }"""
ME = "{ me { email } }"
TIMEOUTS = 2.0


def settings(database_url: str, **sections: Any) -> Settings:
    base: dict[str, Any] = {
        "database": DatabaseSettings(url=database_url, migrate_on_start=False),
        "server": ServerSettings(gc_freeze=False),
    }
    return Settings(**(base | sections))


@asynccontextmanager
async def client_of(
    app_settings: Settings, organization: BenchOrganization
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"authorization": organization.authorization}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=120
        ) as client:
            yield app, client


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = (
        await client.post("/graphql", json={"query": query, "variables": variables})
    ).json()
    return body


async def timed_executions(client: httpx.AsyncClient, program_id: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        body = await graphql(client, EXECUTE, id=program_id)
        samples.append((time.perf_counter() - started) * 1000)
        assert body["data"]["executeProgram"]["id"], body
    return samples


async def silent_pubsub(
    database_url: str, redis_url: str, organization: BenchOrganization, count: int
) -> dict[str, Any]:
    target = urlsplit(redis_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        broadcast = BroadcastSettings(url=f"redis://127.0.0.1:{proxy.port}/0")
        async with client_of(settings(database_url, broadcast=broadcast), organization) as (
            _,
            client,
        ):
            program = (await graphql(client, CREATE))["data"]["createProgram"]["id"]
            answering = await timed_executions(client, program, count)
            proxy.silence()
            silent = await timed_executions(client, program, count)
            proxy.restore()
    return {
        "execute_response_ms_redis_answering": summarize(answering),
        "execute_response_ms_redis_silent": summarize(silent),
        "pubsub_heartbeat_seconds": broadcast.heartbeat_seconds,
    }


async def silent_database(
    database_url: str, organization: BenchOrganization, count: int
) -> dict[str, Any]:
    target = urlsplit(database_url.replace("+asyncpg", ""))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        database = DatabaseSettings(
            url=proxy.url_for(database_url),
            migrate_on_start=False,
            connect_timeout_seconds=TIMEOUTS,
            statement_timeout_seconds=TIMEOUTS,
        )
        async with client_of(settings(database_url, database=database), organization) as (
            _,
            client,
        ):
            answering, silent, codes = [], [], set()
            for _ in range(count):
                answering.append(await timed(client))
            proxy.silence()
            for _ in range(3):
                started = time.perf_counter()
                body = await graphql(client, ME)
                silent.append((time.perf_counter() - started) * 1000)
                codes.add(body["errors"][0]["extensions"]["code"])
            proxy.restore()
            back = await first_success(client)
    return {
        "me_ms_database_answering": summarize(answering),
        "me_ms_database_silent": summarize(silent),
        "codes_while_silent": sorted(codes),
        "connect_and_statement_timeouts_s": TIMEOUTS,
        "ms_until_a_request_succeeds_after_restore": back,
    }


async def timed(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    body = await graphql(client, ME)
    assert "errors" not in body, body
    return (time.perf_counter() - started) * 1000


async def first_success(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    while "errors" in await graphql(client, ME):  # noqa: ASYNC110 (polled from outside)
        await asyncio.sleep(0.01)
    return round((time.perf_counter() - started) * 1000, 1)


async def status(client: httpx.AsyncClient, execution_id: str) -> str:
    state: str = (await graphql(client, STATUS, id=execution_id))["data"]["execution"]["status"]
    return state


async def takeover(database_url: str, organization: BenchOrganization) -> dict[str, Any]:
    lease = 3.0
    execution = ExecutionSettings(lease_seconds=lease, shutdown_grace_seconds=0)
    target = urlsplit(database_url.replace("+asyncpg", ""))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        database = DatabaseSettings(url=proxy.url_for(database_url), migrate_on_start=False)
        cut_off = settings(database_url, database=database, execution=execution)
        async with (
            client_of(cut_off, organization) as (_, lost),
            client_of(settings(database_url, execution=execution), organization) as (_, other),
        ):
            configuration = {"latency_ms": 120_000}
            program = (await graphql(lost, CREATE, configuration=configuration))["data"]
            started = (await graphql(lost, EXECUTE, id=program["createProgram"]["id"]))["data"]
            execution_id = started["executeProgram"]["id"]
            proxy.cut()
            cut_at = time.perf_counter()
            while await status(other, execution_id) != "FAILED":  # noqa: ASYNC110 (polled)
                await asyncio.sleep(0.02)
            taken = time.perf_counter() - cut_at
            proxy.restore()
    return {
        "lease_seconds": lease,
        "sweep_every_seconds": lease / 3,
        "seconds_from_cut_to_takeover": round(taken, 2),
        "bound_seconds": lease + lease / 3,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        log("phase: silent pub/sub backend")
        pubsub = await silent_pubsub(database.url, args.redis_url, organization, args.requests)
        log("phase: silent database")
        silent = await silent_database(database.url, organization, args.requests)
        log("phase: takeover")
        taken = await takeover(database.url, organization)
        emit(
            {
                "benchmark": "outages",
                "database": database.describe(),
                "versions": versions(),
                "machine": machine(),
                "silent_pubsub": pubsub,
                "silent_database": silent,
                "takeover": taken,
            }
        )


if __name__ == "__main__":
    run(main)

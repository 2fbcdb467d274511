"""`query { program(id) { id name status type } }` under concurrency, against the raw baseline.

    python -m bench.program_get [--database-url URL] [--concurrency 16] [--seconds 5]

One program is created through the service's own API (createProgram). Then, one server at a time
(each a uvicorn subprocess), a load generator in a third process keeps `--concurrency` keep-alive
connections busy for `--seconds` (after `--warmup-seconds`) with the same request body:
first against the service's /graphql, then against `bench/raw_app.py`'s /raw/program, which does
the same tenant-filtered SELECT of the same row through SQLAlchemy Core and the same driver.

Every request carries `Authorization: Bearer <API key>` of the admin of an organization created
for the run before the servers start: the service authenticates each request (one more indexed
query), with its request budget raised (`common.BENCH_LIMITS`); the raw route ignores the header
and filters by the organization it looked up by slug at start-up.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench import breakdown
from bench.common import (
    AUTH_SETUP,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    event_loop_name,
    log,
    machine,
    run,
    versions,
    warn_if_busy,
)
from bench.httpclient import Connection, graphql_post
from bench.seed import create_program
from bench.serve import service_app
from bench.servers import ServerProcess, load, running_server

QUERY = "query($id: ID!) { program(id: $id) { id name status type } }"


async def check(server: ServerProcess, request: bytes) -> Any:
    connection = await Connection.open(server.port)
    try:
        status, body = await connection.send(request)
    finally:
        await connection.close()
    if status != 200:
        raise RuntimeError(f"{server.kind}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    runs: dict[str, dict[str, Any]] = {}
    responses: dict[str, Any] = {}
    options = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
    }
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        api_key = organization.api_key
        async with running_server("service", database.url, organization.slug) as server:
            connection = await Connection.open(server.port)
            try:
                program = await create_program(
                    connection, api_key, name="bench-get", signatureSpec="question -> answer"
                )
            finally:
                await connection.close()
            variables = {"id": program["id"]}
            service_request = graphql_post(QUERY, variables, api_key=api_key)
            responses["service"] = await check(server, service_request)
            log(f"service: {args.concurrency} clients for {args.seconds}s")
            runs["service"] = await load(server, service_request, **options)
        async with running_server("raw", database.url, organization.slug) as server:
            # the same bytes but the path: the Authorization header too, which the raw app ignores
            raw_request = graphql_post(QUERY, variables, path="/raw/program", api_key=api_key)
            responses["raw"] = await check(server, raw_request)
            log(f"raw: {args.concurrency} clients for {args.seconds}s")
            runs["raw"] = await load(server, raw_request, **options)
        log(f"in-process breakdown of one request, {args.breakdown_repeats} repeats per step")
        app = service_app(database.url)
        async with app.router.lifespan_context(app):
            where = await breakdown.program_get(
                app, QUERY, variables, api_key, args.breakdown_repeats
            )
    if responses["service"] != responses["raw"]:
        raise RuntimeError(f"responses differ: {responses}")
    service, raw = runs["service"], runs["raw"]
    return {
        "benchmark": "program_get",
        "query": QUERY,
        "setup": (
            "each server is a uvicorn subprocess (1 worker, loop/http 'auto', access log off), "
            "run one at a time; the load generator is a separate process "
            f"({args.concurrency} keep-alive HTTP/1.1 connections over loopback, asyncio "
            "streams); the parent process only starts and stops them; machine has "
            f"{machine()['cpus']} CPUs; " + AUTH_SETUP
        ),
        "database": database.describe(),
        "organization": organization.describe(),
        "versions": versions() | {"event_loop": event_loop_name()},
        "machine": machine() | {"load_average_1m_before": load_before},
        "same_response": True,
        "response": responses["service"],
        "service": service,
        "raw": raw,
        "service_vs_raw": {
            "throughput_ratio": round(
                service["requests_per_second"] / raw["requests_per_second"], 3
            ),
            "p99_ratio": round(service["latency_ms"]["p99"] / raw["latency_ms"]["p99"], 2),
            "server_cpu_ms_per_request": {
                "service": service.get("server_cpu_ms_per_request"),
                "raw": raw.get("server_cpu_ms_per_request"),
            },
        },
        "breakdown": where,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured, per server")
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--breakdown-repeats", type=int, default=200)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

"""`programs(first: 1000) { nodes { id name status type createdAt } }` latency, against raw.

    python -m bench.programs_list [--database-url URL] [--requests 50] [--profile]

1000 programs are created through the service's own API (createProgram, `--seed-concurrency`
at a time). Then, one server at a time (each a uvicorn subprocess), a load generator in another
process sends `--requests` sequential requests (after `--warmup`) over one keep-alive
connection: to the service's /graphql, then to `bench/raw_app.py`'s /raw/programs, which runs
the same tenant-filtered, ordered SELECT through SQLAlchemy Core and the same driver and returns
the same JSON (checked). When the service misses the target (or with `--profile`), `breakdown`
says where the time goes, measured in-process on the server side (see `bench/breakdown.py`).

Every request carries `Authorization: Bearer <API key>` of the admin of an organization created
for the run before the servers start: the service authenticates each request (one more indexed
query), with its request budget raised (`common.BENCH_LIMITS`); the raw route ignores the header
and filters by the organization it looked up by slug at start-up.
"""

from __future__ import annotations

import argparse
import json
import time
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
from bench.seed import create_programs
from bench.serve import service_app
from bench.servers import ServerProcess, load, running_server

TARGET_MS = 50.0
QUERY = (
    "query($first: Int!) { programs(first: $first) { nodes { id name status type createdAt } } }"
)
QUERY_NESTED = (
    "query($first: Int!) { programs(first: $first) {"
    " nodes { id name status type createdAt signature { id name } } } }"
)


async def fetch(server: ServerProcess, request: bytes) -> Any:
    connection = await Connection.open(server.port)
    try:
        status, body = await connection.send(request)
    finally:
        await connection.close()
    if status != 200:
        raise RuntimeError(f"{server.kind}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


async def seed(server: ServerProcess, api_key: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"creating {args.programs} programs (createProgram, {args.seed_concurrency} at a time)")
    started = time.perf_counter()
    created = await create_programs(
        server.port, api_key, args.programs, concurrency=args.seed_concurrency
    )
    seconds = time.perf_counter() - started
    return {
        "programs": len(created),
        "concurrency": args.seed_concurrency,
        "seconds": round(seconds, 2),
        "create_program_per_second": round(len(created) / seconds, 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    query = QUERY_NESTED if args.nested else QUERY
    raw_path = "/raw/programs_with_signature" if args.nested else "/raw/programs"
    variables = {"first": args.programs}
    options = {"concurrency": 1, "requests": args.requests, "warmup_requests": args.warmup}
    responses: dict[str, Any] = {}
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        api_key = organization.api_key
        async with running_server("service", database.url, organization.slug) as server:
            seeding = await seed(server, api_key, args)
            service_request = graphql_post(query, variables, api_key=api_key)
            responses["service"] = await fetch(server, service_request)
            log(f"service: {args.requests} sequential requests")
            service = await load(server, service_request, **options)
        async with running_server("raw", database.url, organization.slug) as server:
            # the same bytes but the path: the Authorization header too, which the raw app ignores
            raw_request = graphql_post(query, variables, path=raw_path, api_key=api_key)
            responses["raw"] = await fetch(server, raw_request)
            log(f"raw: {args.requests} sequential requests")
            raw = await load(server, raw_request, **options)
        if responses["service"] != responses["raw"]:
            raise RuntimeError("the service and the raw route returned different JSON")
        nodes = len(responses["service"]["data"]["programs"]["nodes"])
        met = (
            service["latency_ms"]["median"] < TARGET_MS and service["latency_ms"]["p99"] < TARGET_MS
        )
        where = None
        if args.profile or not met:
            log("profiling one request's parts in-process on the server side")
            app = service_app(database.url)
            async with app.router.lifespan_context(app):
                where = await breakdown.programs_list(
                    app,
                    query,
                    variables,
                    api_key,
                    args.profile_repeats,
                    service["latency_ms"]["median"],
                )
    return {
        "benchmark": "programs_list",
        "query": query,
        "setup": (
            "each server is a uvicorn subprocess (1 worker, loop/http 'auto', access log off), "
            "run one at a time; the client is a separate load-generator process sending "
            "sequential requests over one keep-alive HTTP/1.1 connection on loopback; "
            f"machine has {machine()['cpus']} CPUs; the breakdown runs in-process afterwards; "
            + AUTH_SETUP
        ),
        "database": database.describe(),
        "organization": organization.describe(),
        "versions": versions() | {"event_loop": event_loop_name()},
        "machine": machine() | {"load_average_1m_before": load_before},
        "seeding": seeding,
        "nodes_returned": nodes,
        "same_response": True,
        "service": service,
        "raw": raw,
        "service_vs_raw_median_ratio": round(
            service["latency_ms"]["median"] / raw["latency_ms"]["median"], 2
        ),
        "target_ms": TARGET_MS,
        "target_rule": "median and p99 of the service's latency_ms < target_ms",
        "target_met": met,
        "breakdown": where,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--programs", type=int, default=1000, help="seeded, and the page size")
    parser.add_argument(
        "--nested", action="store_true", help="with each program's signature { id name }"
    )
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed-concurrency", type=int, default=8)
    parser.add_argument(
        "--profile", action="store_true", help="break down even if the target is met"
    )
    parser.add_argument("--profile-repeats", type=int, default=20)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

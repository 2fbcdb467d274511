"""Two versions of the service side by side: the same requests to each, alternating.

    python -m bench.paired --before /tmp/old-checkout/src [--after src] [--database-url URL]
        [--requests 1000] [--only create_dag,execute_dag,execute_program]

On this machine timings drift by a third from minute to minute (other tenants of the host), so
two benchmark runs one after the other cannot show a change of a few hundred microseconds. Here
both versions serve at once, each in its own process (`bench.serve`, as `dspex-gql serve` runs
it), on one database, and each request goes to one and then the other: whatever the machine does
meanwhile, both see it. `--before`/`--after` are `src` directories (a `git worktree` of the old
revision gives one); the benchmark code itself is this checkout's.

Measured by the client (one keep-alive connection per server, sequential requests): the
response time of
- `create_dag`: `createDag` of a 100-node chain (a new name each time);
- `execute_dag`: `executeDag` of an ACTIVE one-node DAG of a 0 ms mock program;
- `execute_program`: `executeProgram` of that program, not waiting for it.
Set-up goes through the GraphQL API of the `after` server with the admin's API key. Printed:
each version's latency summary, and the median of the paired differences (after - before) with
how many of the pairs `after` won.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT_ROOT,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    summarize,
)
from bench.dags import CREATE_DAG, EXECUTE_DAG, chain
from bench.httpclient import Connection, graphql, graphql_post
from bench.seed import create_program
from bench.servers import running_server

STEPS = ("create_dag", "execute_dag", "execute_program")
EXECUTE_PROGRAM = """
mutation($input: ExecuteProgramInput!) {
  executeProgram(input: $input) { __typename ... on Execution { id } }
}
"""
ACTIVATE_DAG = "mutation($id: ID!) { activateDag(id: $id) { __typename ... on Dag { status } } }"
Request = Callable[[], bytes]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the old version's src")
    parser.add_argument("--after", type=Path, default=PROJECT_ROOT / "src")
    parser.add_argument("--requests", type=int, default=1000, help="per version and step")
    parser.add_argument("--only", default=",".join(STEPS))
    add_database_argument(parser)
    return parser.parse_args()


@asynccontextmanager
async def serving(source: Path, url: str, slug: str) -> AsyncIterator[Connection]:
    """The service of `source` in its own process, and a connection to it."""
    async with running_server("service", url, slug, python_path=source) as server:
        connection = await Connection.open(server.port)
        try:
            yield connection
        finally:
            await connection.close()


async def set_up(connection: Connection, api_key: str) -> dict[str, str]:
    """A READY mock program and an ACTIVE one-node DAG of it: their ids."""
    program = await create_program(
        connection,
        api_key,
        name=f"paired-{uuid.uuid4().hex[:8]}",
        signatureSpec="question -> answer",
        adapter="mock",
        configuration={"latency_ms": 0},
        initialize=True,
    )
    new_dag = {"name": f"paired-{uuid.uuid4().hex[:8]}", "definition": chain(program["id"], 1)}
    variables = {"input": new_dag}
    created = (await graphql(connection, CREATE_DAG, variables, api_key=api_key))["createDag"]
    await graphql(connection, ACTIVATE_DAG, {"id": created["id"]}, api_key=api_key)
    return {"program": program["id"], "dag": created["id"]}


def requests(ids: dict[str, str], api_key: str) -> dict[str, Request]:
    definition = chain(ids["program"], 100)

    def create_dag() -> bytes:
        name = f"paired-{uuid.uuid4().hex[:12]}"
        variables = {"input": {"name": name, "definition": definition}}
        return graphql_post(CREATE_DAG, variables, api_key=api_key)

    def execute_dag() -> bytes:
        variables = {"dagId": ids["dag"], "context": {"question": uuid.uuid4().hex}}
        return graphql_post(EXECUTE_DAG, variables, api_key=api_key)

    def execute_program() -> bytes:
        given = {"programId": ids["program"], "inputs": {"question": uuid.uuid4().hex}}
        return graphql_post(EXECUTE_PROGRAM, {"input": given}, api_key=api_key)

    return {
        "create_dag": create_dag,
        "execute_dag": execute_dag,
        "execute_program": execute_program,
    }


async def timed(connection: Connection, request: bytes) -> float:
    started = time.perf_counter()
    status, body = await connection.send(request)
    took = (time.perf_counter() - started) * 1000
    if status != 200 or b'"errors"' in body:
        raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    return took


async def paired(
    before: Connection, after: Connection, request: Request, count: int
) -> dict[str, Any]:
    """`count` pairs, the order within a pair alternating (neither always goes first)."""
    for _ in range(20):  # warm-up
        await timed(before, request())
        await timed(after, request())
    times: dict[str, list[float]] = {"before": [], "after": []}
    for index in range(count):
        order = [("before", before), ("after", after)]
        for name, connection in order if index % 2 == 0 else order[::-1]:
            times[name].append(await timed(connection, request()))
    differences = [a - b for a, b in zip(times["after"], times["before"], strict=True)]
    return {
        "before_ms": summarize(times["before"]),
        "after_ms": summarize(times["after"]),
        "median_difference_ms": round(statistics.median(differences), 3),
        "after_faster_in_pairs": sum(d < 0 for d in differences),
        "pairs": count,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    steps = [step for step in args.only.split(",") if step]
    if unknown := set(steps) - set(STEPS):
        raise SystemExit(f"unknown steps: {sorted(unknown)}; choose from {STEPS}")
    async with bench_database(args.database_url) as database, AsyncExitStack() as stack:
        organization = await create_bench_organization(database.url)
        slug, key = organization.slug, organization.api_key
        before = await stack.enter_async_context(serving(args.before, database.url, slug))
        after = await stack.enter_async_context(serving(args.after, database.url, slug))
        made = requests(await set_up(after, key), key)
        results = {}
        for step in steps:
            log(f"{step}: {args.requests} pairs")
            results[step] = await paired(before, after, made[step], args.requests)
        return {
            "benchmark": "paired",
            "before": str(args.before),
            "after": str(args.after),
            "database": database.describe(),
            "machine": machine(),
            **results,
        }


if __name__ == "__main__":
    arguments = parse_arguments()
    emit(run(lambda: main(arguments)))

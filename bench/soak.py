"""Memory under steady mixed load: does the server's memory level off, and if not, what grows?

    python -m bench.soak [--database-url URL] [--minutes 30] [--tracemalloc-frames 0]

The service runs in its own process (`bench.servers.running_server`, deployed settings) with a
memory probe (`bench/memprobe.py`) sampling every `--sample-seconds`. This process drives, until
the time is up, what users do all day:

- `--executors` clients in a loop: `executeProgram` (mock adapter), the execution by id, the
  first page of programs;
- one watcher: starts an execution and follows it over a websocket subscription to the end, on a
  new connection each time;
- one optimizer: a 10-iteration optimization run, followed to the end over its subscription;
- one bad client: a syntax error, an unknown id, a wrong API key, a query over the depth limit.

It prints JSON: the samples, the RSS slope over the first and the second half after warm-up
(MiB per hour: a leak keeps its slope, a cache filling up flattens), and with
`--tracemalloc-frames N` the source lines whose live allocations grew most between the
warm-up snapshot and the last one, and the object types whose counts grew most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import connect

from bench.common import (
    BenchOrganization,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    versions,
)
from bench.servers import running_server

EXECUTE = """mutation($id: ID!, $q: String!) { executeProgram(input: {programId: $id,
  inputs: {question: $q}}) { __typename ... on Execution { id } ... on Error { code } } }"""
EXECUTION = "query($id: ID!) { execution(id: $id) { status outputs durationMs } }"
PROGRAMS = "{ programs(first: 10) { edges { node { id name status } } } }"
WATCH = "subscription($id: ID!) { executionUpdated(id: $id) { status outputs } }"
PROGRESS = "subscription($id: ID!) { optimizationProgress(id: $id) { status bestScore } }"
CREATE_PROGRAM = """mutation($input: CreateProgramInput!) { createProgram(input: $input) {
  __typename ... on Program { id status } ... on Error { message } } }"""
CREATE_SPACE = """mutation($input: CreateVariableSpaceInput!) { createVariableSpace(input: $input) {
  __typename ... on VariableSpace { id } ... on Error { message } } }"""
START = """mutation($input: StartOptimizationInput!) { startOptimization(input: $input) {
  __typename ... on OptimizationRun { id } ... on Error { message code } } }"""
DEEP = "{ programs { edges { node { signature " * 4 + "{ id }" + " } } } }" * 4
"""Deeper than the service's limit (12): refused before it runs."""
SPACE = [
    {"name": "temperature", "type": "FLOAT", "constraints": {"min": 0.0, "max": 1.5}},
    {"name": "model", "type": "CHOICE", "constraints": {"choices": ["small", "large"]}},
]
LANDSCAPE = {"kind": "distance", "optimum": {"temperature": 0.7, "model": "large"}, "width": 0.6}
TRAINING = [{"inputs": {"question": f"q{i}"}, "expected": {"answer": f"a{i}"}} for i in range(12)]


class Client:
    def __init__(self, port: int, organization: BenchOrganization) -> None:
        self.port = port
        self.organization = organization
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"authorization": organization.authorization},
            timeout=60,
        )
        self.counts: Counter[str] = Counter()

    async def post(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.post(query, **variables)
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    async def created(self, query: str, field: str, **variables: Any) -> str:
        result = (await self.data(query, **variables))[field]
        if "id" not in result:
            raise RuntimeError(f"{field} failed: {result}")
        identifier: str = result["id"]
        return identifier

    async def follow(self, subscription: str, identifier: str) -> int:
        """Subscribe on a new websocket; the number of `next` messages before `complete`."""
        uri = f"ws://127.0.0.1:{self.port}/graphql"
        async with connect(uri, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
            init = {"authorization": self.organization.authorization}
            await socket.send(json.dumps({"type": "connection_init", "payload": init}))
            ack = json.loads(await socket.recv())
            if ack["type"] != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            message = {"query": subscription, "variables": {"id": identifier}}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": message}))
            received = 0
            while True:
                reply = json.loads(await socket.recv())
                if reply["type"] == "complete":
                    return received
                if reply["type"] != "next" or reply["payload"].get("errors"):
                    raise RuntimeError(f"subscription failed: {reply}")
                received += 1


async def executor(client: Client, program_id: str, until: float) -> None:
    while time.monotonic() < until:
        question = uuid.uuid4().hex
        execution = await client.created(EXECUTE, "executeProgram", id=program_id, q=question)
        await client.data(EXECUTION, id=execution)
        await client.data(PROGRAMS)
        client.counts["executions"] += 1


async def watcher(client: Client, program_id: str, until: float) -> None:
    while time.monotonic() < until:
        execution = await client.created(EXECUTE, "executeProgram", id=program_id, q="watched")
        client.counts["subscription_messages"] += await client.follow(WATCH, execution)
        client.counts["subscriptions"] += 1


async def optimizer(client: Client, program_id: str, space_id: str, until: float) -> None:
    while time.monotonic() < until:
        run_input = {
            "programId": program_id,
            "variableSpaceId": space_id,
            "name": f"soak-{uuid.uuid4().hex[:8]}",
            "strategy": "RANDOM",
            "trainingData": TRAINING,
            "maxIterations": 10,
        }
        run_id = await client.created(START, "startOptimization", input=run_input)
        await client.follow(PROGRESS, run_id)
        client.counts["optimization_runs"] += 1


async def bad_client(client: Client, until: float) -> None:
    stranger = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{client.port}",
        headers={"authorization": "Bearer dsx_nothere_0123456789abcdef"},
        timeout=60,
    )
    async with stranger:
        while time.monotonic() < until:
            for body in (await client.post("{ programs { "), await client.post(DEEP)):
                assert body.get("errors"), body
            missing = await client.post(EXECUTION, id=str(uuid.uuid4()))
            assert missing["data"]["execution"] is None, missing
            refused = await stranger.post("/graphql", json={"query": PROGRAMS})
            assert refused.status_code in (200, 401), refused.status_code
            client.counts["refused_requests"] += 4
            await asyncio.sleep(0.05)


async def seed(client: Client) -> tuple[str, str, str]:
    mock_program = await client.created(
        CREATE_PROGRAM,
        "createProgram",
        input={"name": "soak", "signatureSpec": "question -> answer", "initialize": True},
    )
    space = await client.created(
        CREATE_SPACE, "createVariableSpace", input={"name": "soak", "variables": SPACE}
    )
    optimized = await client.created(
        CREATE_PROGRAM,
        "createProgram",
        input={
            "name": "soak-optimized",
            "signatureSpec": "question -> answer",
            "initialize": True,
            "variableSpaceId": space,
            "configuration": {"landscape": LANDSCAPE},
        },
    )
    return mock_program, space, optimized


async def drive(client: Client, seconds: float, executors: int) -> None:
    mock_program, space, optimized = await seed(client)
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(executor(client, mock_program, until) for _ in range(executors)),
        watcher(client, mock_program, until),
        optimizer(client, optimized, space, until),
        bad_client(client, until),
    )


def slope_mib_per_hour(samples: list[dict[str, Any]], key: str = "rss_kib") -> float | None:
    """Least-squares slope of `key` over time."""
    if len(samples) < 3:
        return None
    xs: list[float] = [float(s["seconds"]) for s in samples]
    ys: list[float] = [s[key] / 1024 for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return round(covariance / spread * 3600, 2)


def growth(samples: list[dict[str, Any]], warmup_seconds: float) -> dict[str, Any]:
    after = [s for s in samples if s["seconds"] >= warmup_seconds]
    half = len(after) // 2
    keys = [k for k in after[0] if k.endswith("_kib")] if after else []
    return {
        "after_warmup_mib": {
            k.removesuffix("_kib"): [after[0][k] // 1024, after[-1][k] // 1024] for k in keys
        },
        "rss_slope_mib_per_hour_first_half": slope_mib_per_hour(after[: half + 1]),
        "rss_slope_mib_per_hour_second_half": slope_mib_per_hour(after[half:]),
        "python_blocks": [after[0]["python_blocks"], after[-1]["python_blocks"]] if after else None,
        "gc_objects": [after[0]["gc_objects"], after[-1]["gc_objects"]] if after else None,
    }


def heap_growth(directory: Path, top: int = 15) -> dict[str, Any]:
    baseline = tracemalloc.Snapshot.load(str(directory / "baseline.snapshot"))
    latest = tracemalloc.Snapshot.load(str(directory / "latest.snapshot"))
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__)]
    differences = latest.filter_traces(ignored).compare_to(
        baseline.filter_traces(ignored), "traceback"
    )
    differences.sort(key=lambda difference: difference.size_diff, reverse=True)
    lines = [
        {
            "grew_kib": round(d.size_diff / 1024, 1),
            "blocks_grew": d.count_diff,
            "now_kib": round(d.size / 1024, 1),
            "allocated_at": [f"{f.filename}:{f.lineno}" for f in d.traceback][-6:],
        }
        for d in differences[:top]
    ]
    by_line = latest.filter_traces(ignored).compare_to(baseline.filter_traces(ignored), "lineno")
    by_line.sort(key=lambda difference: difference.size_diff, reverse=True)
    lines_grown = [
        {
            "grew_kib": round(d.size_diff / 1024, 1),
            "blocks_grew": d.count_diff,
            "line": f"{d.traceback[0].filename}:{d.traceback[0].lineno}",
        }
        for d in by_line[:top]
    ]
    before = json.loads((directory / "baseline.types.json").read_text())
    after = json.loads((directory / "latest.types.json").read_text())
    types = sorted(after, key=lambda name: after[name] - before.get(name, 0), reverse=True)
    return {
        "top_growth": lines,
        "top_growth_by_line": lines_grown,
        "total_grew_kib": round(sum(d.size_diff for d in differences) / 1024, 1),
        "object_types_grew": {name: after[name] - before.get(name, 0) for name in types[:top]},
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    warmup = args.warmup_minutes * 60
    with tempfile.TemporaryDirectory(prefix="dspex-soak-") as scratch:
        probe = Path(scratch)
        extra = ["--memory-probe", str(probe), "--memory-every", str(args.sample_seconds)]
        extra += ["--memory-baseline-after", str(warmup)]
        extra += ["--tracemalloc-frames", str(args.tracemalloc_frames)]
        async with bench_database(args.database_url) as database:
            organization = await create_bench_organization(database.url)
            serving = running_server(
                "service", database.url, organization.slug, extra, gc_stats=False
            )
            async with serving as server:
                client = Client(server.port, organization)
                log(f"soaking for {args.minutes} min")
                started = time.monotonic()
                async with client.http:
                    await drive(client, args.minutes * 60, args.executors)
                took = time.monotonic() - started
                await asyncio.sleep(args.sample_seconds + 1)  # one sample after the load
            samples = [json.loads(line) for line in (probe / "samples.jsonl").open()]
            result: dict[str, Any] = {
                "benchmark": "soak",
                "database": database.describe(),
                "minutes": round(took / 60, 1),
                "requests": dict(client.counts),
                "tracemalloc_frames": args.tracemalloc_frames,
                "growth": growth(samples, warmup),
                "samples": samples,
            }
            if args.tracemalloc_frames > 0:
                result["heap"] = heap_growth(probe)
    return result | {"machine": machine(), "versions": versions()}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=3.0)
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    parser.add_argument("--executors", type=int, default=3)
    parser.add_argument("--tracemalloc-frames", type=int, default=0)
    emit(run(lambda: main(parser.parse_args())))


if __name__ == "__main__":
    cli()

"""`executeProgram` latency: from sending the request to the execution's task running the adapter.

    python -m bench.execute_latency [--database-url URL] [--requests 500]

Client and server share one process and one event loop (uvicorn `Server.serve()` as a task, the
client on real loopback HTTP), so `time.perf_counter()` readings compare. A probe adapter,
registered through `create_app(settings, adapters=registry)`, is the mock adapter plus a timestamp
taken first thing in `run()`; each request's inputs carry a key that says which request it was.

Measured twice, `--requests` each, after `--warmup` requests:
- `isolated`: the next request is sent once the previous execution has finished (its terminal
  state written: the orchestrator has no task left);
- `back_to_back`: the next request is sent as soon as the previous task has started, so the
  previous execution's terminal write overlaps the next request, as under sequential use.

Every request carries `Authorization: Bearer <API key>` of the admin of an organization created
for the run before the app starts, so the service authenticates each one, as deployed; the request
budget is raised (`common.BENCH_LIMITS`). The baselines do not authenticate.

Baselines, same run, same database: `raw_insert` (SQLAlchemy Core INSERT INTO executions in one
transaction on an engine from the service's own factory, then `asyncio.create_task`, timed until
that task starts) and `raw_http` (the same behind a bare Starlette route, `bench/raw_app.py`,
over the same kind of HTTP connection).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from bench import breakdown
from bench.common import (
    AUTH_SETUP,
    BenchOrganization,
    CPUWindow,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    event_loop_name,
    log,
    machine,
    run,
    service_settings,
    summarize,
    versions,
    warn_if_busy,
)
from bench.gcstats import GCStats
from bench.httpclient import Connection, graphql_post
from bench.raw_app import EXECUTIONS, create_raw_app
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.base import utcnow
from dspex_gql.db.engine import create_engine
from dspex_gql.engine.adapters import AdapterRegistry, AdapterRequest, AdapterResult, MockAdapter

TARGET_MS = 20.0
TARGET_RATIO = 2.0
MUTATION = """
mutation($input: ExecuteProgramInput!) {
  executeProgram(input: $input) {
    __typename
    ... on Execution { id status }
    ... on Error { message code }
  }
}
"""


class ProbeAdapter:
    """The mock adapter, plus the moment each run starts: `await probe.started(key)`."""

    name = "probe"

    def __init__(self) -> None:
        self._mock = MockAdapter()
        self._started = TaskStarts()

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        return self._mock.check_configuration(configuration)

    async def run(self, request: AdapterRequest) -> AdapterResult:
        self._started.mark(request.inputs)
        return await self._mock.run(request)

    def expect(self, key: str) -> asyncio.Future[float]:
        return self._started.expect(key)


class TaskStarts:
    """Futures resolved with `perf_counter()` when a task with inputs `{"question": key}` starts."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, key: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def mark(self, inputs: Mapping[str, Any]) -> None:
        now = time.perf_counter()
        future = self._waiting.pop(str(inputs.get("question")), None)
        if future is not None and not future.done():
            future.set_result(now)


@dataclass
class Samples:
    task_start_ms: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)
    task_started_before_response: int = 0

    def add(self, sent: float, responded: float | None, started: float) -> None:
        self.task_start_ms.append((started - sent) * 1000)
        if responded is not None:
            self.response_ms.append((responded - sent) * 1000)
            self.task_started_before_response += started < responded

    def figures(self) -> dict[str, Any]:
        found: dict[str, Any] = {"task_start_ms": summarize(self.task_start_ms)}
        if self.response_ms:
            found["response_ms"] = summarize(self.response_ms)
            found["task_started_before_response"] = self.task_started_before_response
        return found


async def http_phase(
    connection: Connection,
    path: str,
    program_id: str,
    api_key: str,
    expect: Callable[[str], asyncio.Future[float]],
    count: int,
    settle: Callable[[], Awaitable[None]] | None,
) -> Samples:
    samples = Samples()
    for _ in range(count):
        key = uuid.uuid4().hex
        variables = {"input": {"programId": program_id, "inputs": {"question": key}}}
        request = graphql_post(MUTATION, variables, path=path, api_key=api_key)
        started = expect(key)
        sent = time.perf_counter()
        status, body = await connection.send(request)
        responded = time.perf_counter()
        result = json.loads(body)
        if status != 200 or result["data"]["executeProgram"]["__typename"] != "Execution":
            raise RuntimeError(f"executeProgram failed: HTTP {status} {body[:300]!r}")
        samples.add(sent, responded, await asyncio.wait_for(started, 10))
        if settle is not None:
            await settle()
    return samples


async def measure_service(
    args: argparse.Namespace, url: str, organization: BenchOrganization
) -> dict[str, Any]:
    probe = ProbeAdapter()
    registry = AdapterRegistry.default()
    registry.register(probe)
    app = create_app(service_settings(url), adapters=registry)
    api_key = organization.api_key
    async with serving(app) as port:
        orchestrator = app.state.runtime.runs.orchestrator

        async def finished() -> None:
            # the orchestrator offers no "idle" event, and its task set is private: poll
            while orchestrator.running:  # noqa: ASYNC110
                await asyncio.sleep(0.0005)

        connection = await Connection.open(port)
        program = await create_program(
            connection,
            api_key,
            name="bench-execute",
            signatureSpec="question -> answer",
            adapter="probe",
            configuration={"latency_ms": 0},
            initialize=True,
        )
        if program["status"] != "READY":
            raise RuntimeError(f"program not READY: {program}")
        phases: dict[str, Any] = {"program_id": program["id"]}
        phase_args = (connection, "/graphql", program["id"], api_key, probe.expect)
        await http_phase(*phase_args, args.warmup, finished)
        for name, settle in (("isolated", finished), ("back_to_back", None)):
            log(f"service, {name}: {args.requests} sequential executeProgram requests")
            gc_stats = GCStats().attach()
            with CPUWindow() as window:
                samples = await http_phase(*phase_args, args.requests, settle)
            gc_figures = gc_stats.figures()
            gc_stats.detach()
            await finished()
            phases[name] = samples.figures() | window.figures() | {"process_gc": gc_figures}
        await connection.close()
        log(f"in-process breakdown of executeProgram, {args.breakdown_repeats} repeats per step")
        variables = {"input": {"programId": program["id"], "inputs": {"question": "breakdown"}}}
        phases["breakdown"] = await breakdown.execute_program(
            app, MUTATION, variables, api_key, args.breakdown_repeats, finished
        )
    return phases


async def measure_raw_insert(
    url: str, organization_id: uuid.UUID, program_id: uuid.UUID, count: int
) -> dict[str, Any]:
    engine = create_engine(DatabaseSettings(url=url))
    starts = TaskStarts()
    tasks: set[asyncio.Task[None]] = set()

    async def job(inputs: Mapping[str, Any]) -> None:
        starts.mark(inputs)

    async def once(samples: Samples) -> None:
        key = uuid.uuid4().hex
        started = starts.expect(key)
        sent = time.perf_counter()
        now = utcnow()
        async with engine.begin() as connection:
            await connection.execute(
                insert(EXECUTIONS).values(
                    id=uuid.uuid4(),
                    organization_id=organization_id,
                    program_id=program_id,
                    status="PENDING",
                    sequence=1,
                    inputs={"question": key},
                    **{"metadata": {}},  # the column behind Execution.meta
                    created_at=now,
                    updated_at=now,
                )
            )
        task = asyncio.create_task(job({"question": key}))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        samples.add(sent, None, await started)

    try:
        for _ in range(10):
            await once(Samples())
        samples = Samples()
        with CPUWindow() as window:
            for _ in range(count):
                await once(samples)
        return samples.figures() | window.figures()
    finally:
        await engine.dispose()


async def measure_raw_http(
    url: str, organization: BenchOrganization, program_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    starts = TaskStarts()
    app = create_raw_app(url, organization.slug, on_task_start=starts.mark)
    async with serving(app) as port:
        connection = await Connection.open(port)
        # the same request bytes as the service's, Authorization header included (ignored)
        phase_args = (connection, "/raw/execute", program_id, organization.api_key, starts.expect)
        await http_phase(*phase_args, args.warmup, None)
        with CPUWindow() as window:
            samples = await http_phase(*phase_args, args.requests, None)
        await connection.close()
    return samples.figures() | window.figures()


PHASES = ("isolated", "back_to_back")


def verdict(phases: Mapping[str, Any]) -> dict[str, bool]:
    return {name: phases[name]["task_start_ms"]["p99"] < TARGET_MS for name in PHASES}


def ratios_to_raw(phases: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Issue 13's target: the service's task-start p99 at most `TARGET_RATIO` times the raw's."""
    raw_p99 = raw["task_start_ms"]["p99"]
    found: dict[str, Any] = {}
    for name in PHASES:
        ratio = phases[name]["task_start_ms"]["p99"] / raw_p99
        found[name] = {"p99_ratio": round(ratio, 2), "target_met": ratio <= TARGET_RATIO}
    return found


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        service = await measure_service(args, database.url, organization)
        program_id = service.pop("program_id")
        log(f"raw insert + create_task: {args.requests} times")
        raw_insert = await measure_raw_insert(
            database.url, organization.id, uuid.UUID(program_id), args.requests
        )
        log(f"raw HTTP route (insert + create_task): {args.requests} sequential requests")
        raw_http = await measure_raw_http(database.url, organization, program_id, args)
    met = verdict(service)
    return {
        "benchmark": "execute_latency",
        "setup": (
            "client and uvicorn server (Server.serve() as a task, loop "
            f"{event_loop_name()}, httptools, access log off) in ONE process and ONE event "
            "loop, so perf_counter timestamps compare; real HTTP/1.1 over loopback, one "
            "keep-alive connection, sequential requests; task start = first line of the probe "
            f"adapter's run(); machine has {machine()['cpus']} CPUs; " + AUTH_SETUP
        ),
        "database": database.describe(),
        "organization": organization.describe(),
        "versions": versions() | {"event_loop": event_loop_name()},
        "machine": machine() | {"load_average_1m_before": load_before},
        "requests": args.requests,
        "warmup": args.warmup,
        "service": service,
        "baseline_raw_insert": raw_insert,
        "baseline_raw_http": raw_http,
        "target_ms": TARGET_MS,
        "target_rule": "p99 of service task_start_ms < target_ms, in both phases",
        "target_met_by_phase": met,
        "target_met": all(met.values()),
        "ratio_target": f"p99 of service task_start_ms <= {TARGET_RATIO} x raw_insert's (issue 13)",
        "ratio_to_raw_insert_by_phase": ratios_to_raw(service, raw_insert),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--requests", type=int, default=500, help="measured, per phase")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--breakdown-repeats", type=int, default=100)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

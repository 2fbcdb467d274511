"""Runs in worker processes (`DSPEX_JOBS=procrastinate`) against runs in the API process
(`DSPEX_JOBS=inprocess`, the baseline): how long until an execution starts, and how many
executions a second the deployment completes.

    python -m bench.jobs [--database-url PG_URL] [--redis-url URL] [--requests 300]
                         [--throughput-executions 2000] [--clients 16] [--workers 1,2,4]
                         [--only latency,throughput] [--wait-idle 30] [--logs DIR]

Every configuration gets a fresh PostgreSQL database of its own (created, migrated, dropped at the
end) and real processes started as an operator starts them: `python -m dspex_gql serve` (in
procrastinate mode `serve --no-worker`) and `python -m dspex_gql worker --queues executions`, in
a clean environment (no inherited DSPEX_*), events between them over Redis. The bench process is
the client (real HTTP over loopback) and reads the executions' rows with SQLAlchemy Core.

- `latency`: `--requests` sequential `executeProgram` requests (mock adapter, `latency_ms: 0`),
  each sent once the previous execution has finished. Job start = the execution's stored
  `startedAt` (stamped by whichever process runs it) minus `time.time()` when the client wrote
  the request: the same machine clock. Also the response time and the stored `completedAt`.
- `throughput`: `--throughput-executions` requests from `--clients` keep-alive connections, not
  waiting for the runs, timed from the first request to the last response (the API alone) and to
  the moment the database holds that many COMPLETED executions (polled every 20 ms), with the CPU
  of every process of the deployment, of PostgreSQL and Redis, and of this client, from /proc.

For workers, the time of procrastinate's `Starting job` log line splits job start into the queue
(NOTIFY, fetch) and our claim and load of the row. `--wait-idle` waits, before each
configuration, for other work on a shared machine to stop; `--logs` keeps the processes' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    BENCH_LIMITS,
    CLOCK_TICKS,
    bench_database,
    create_bench_organization,
    emit,
    event_loop_name,
    log,
    machine,
    run,
    summarize,
    versions,
    warn_if_busy,
)
from bench.httpclient import HOST, Connection, graphql_post, request_bytes
from bench.raw_app import EXECUTIONS
from bench.seed import create_program
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 30.0
WORKER_READY = "Starting worker on queues"
"""What procrastinate logs once a worker of a queue takes jobs."""
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
EXECUTE = """mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id status } ... on Error { message code } } }"""


# -- the processes of a deployment --------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    jobs: str
    """DSPEX_JOBS."""
    workers: int
    """`dspex-gql worker` processes beside `serve --no-worker` (0: `serve` runs everything)."""

    @classmethod
    def inprocess(cls) -> Mode:
        return cls("inprocess", "inprocess", 0)

    @classmethod
    def procrastinate(cls, workers: int) -> Mode:
        return cls(f"procrastinate_{workers}_workers", "procrastinate", workers)


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def cpu_seconds(self) -> float | None:
        return pid_cpu_seconds(self.process.pid)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self) -> int:
        """SIGTERM, as a supervisor stops it, then SIGKILL after STOP_SECONDS; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
            except TimeoutError:
                log(f"{self.name} did not stop within {STOP_SECONDS:g}s: killed")
                self.process.kill()
                await self.process.wait()
        code = self.process.returncode
        assert code is not None
        return code


@dataclass
class Deployment:
    api: Process
    port: int
    database: str
    """The database's name (its backends are told apart by it in /proc)."""
    workdir: Path
    """The processes' working directory, where their logs are."""
    workers: list[Process] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)

    @property
    def processes(self) -> list[Process]:
        return [self.api, *self.workers]


def environment(database_url: str, redis_url: str, jobs: str) -> dict[str, str]:
    """A fresh shell's environment (no DSPEX_*) plus the deployment's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSPEX_")}
    return env | {
        "DSPEX_DATABASE_URL": database_url,
        "DSPEX_JOBS": jobs,
        "DSPEX_BROADCAST_URL": redis_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "DSPEX_LIMITS_REQUESTS_PER_SECOND": str(BENCH_LIMITS.requests_per_second),
        "DSPEX_LIMITS_REQUEST_BURST": str(BENCH_LIMITS.request_burst),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def spawn(name: str, arguments: Sequence[str], env: dict[str, str], workdir: Path) -> Process:
    """`python -m dspex_gql ARGUMENTS`, its output into `workdir/NAME.log`."""
    path = workdir / f"{name}.log"
    with path.open("w") as output:  # the child writes to its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dspex_gql",
            *arguments,
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Process(name, process, path)


async def until_ready(process: Process, ready: Awaitable[None]) -> None:
    """`ready`, unless the process ends first or STARTUP_SECONDS pass."""
    readiness = asyncio.ensure_future(ready)
    ended = asyncio.ensure_future(process.process.wait())
    done, _ = await asyncio.wait(
        [readiness, ended], timeout=STARTUP_SECONDS, return_when="FIRST_COMPLETED"
    )
    readiness.cancel()
    ended.cancel()
    if readiness not in done or readiness.exception() is not None:
        raise RuntimeError(f"{process.name} did not get ready:\n{process.tail()}")


async def api_ready(port: int) -> None:
    """GET /readyz answers 200: the database and the pub/sub backend answer."""
    while True:
        try:
            connection = await Connection.open(port)
            try:
                status, _ = await connection.send(request_bytes("GET", "/readyz"))
            finally:
                await connection.close()
            if status == 200:
                return
        except (OSError, asyncio.IncompleteReadError):
            pass
        await asyncio.sleep(0.05)  # polling a process that is starting: no event to await


def says(log_path: Path, text: str) -> bool:
    return text in log_path.read_text(errors="replace")


async def worker_ready(log_path: Path) -> None:
    while not says(log_path, WORKER_READY):  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # polling a process that is starting: no event to await


async def start_api(mode: Mode, env: dict[str, str], workdir: Path) -> tuple[Process, int]:
    port = free_port()
    arguments = ["serve", "--port", str(port), "--no-migrate"]
    if mode.workers:
        arguments.append("--no-worker")
    started = time.perf_counter()
    api = await spawn("api", arguments, env, workdir)
    await until_ready(api, api_ready(port))
    log(f"api up on port {port} (pid {api.process.pid}, {time.perf_counter() - started:.1f}s)")
    return api, port


async def start_worker(index: int, env: dict[str, str], workdir: Path) -> Process:
    started = time.perf_counter()
    worker = await spawn(f"worker-{index}", ["worker", "--queues", "executions"], env, workdir)
    await until_ready(worker, worker_ready(worker.log))
    log(f"worker-{index} up (pid {worker.process.pid}, {time.perf_counter() - started:.1f}s)")
    return worker


@contextmanager
def directory(name: str, logs: Path | None) -> Iterator[Path]:
    """`logs/name` (kept), or a temporary directory."""
    if logs is None:
        with tempfile.TemporaryDirectory(prefix="dspex-bench-jobs-") as scratch:
            yield Path(scratch)
        return
    path = logs / name
    path.mkdir(parents=True, exist_ok=True)
    yield path


@asynccontextmanager
async def deployment(
    mode: Mode, database_url: str, redis_url: str, workdir: Path
) -> AsyncIterator[Deployment]:
    """The API process (and the workers), stopped with SIGTERM at the end, even on failure."""
    env = environment(database_url, redis_url, mode.jobs)
    database = make_url(database_url).database or ""
    started: list[Process] = []
    deployed: Deployment | None = None
    try:
        api, port = await start_api(mode, env, workdir)
        started.append(api)
        deployed = Deployment(api, port, database, workdir)
        for index in range(1, mode.workers + 1):
            deployed.workers.append(await start_worker(index, env, workdir))
            started.append(deployed.workers[-1])
        yield deployed
    except BaseException:
        for process in started:
            log(f"last lines of {process.name}'s log:\n{process.tail()}")
        raise
    finally:
        codes = await asyncio.gather(*(process.stop() for process in started))
        exit_codes = {p.name: code for p, code in zip(started, codes, strict=True)}
        if deployed is not None:
            deployed.exit_codes = exit_codes
        log(f"stopped: exit codes {exit_codes}")


# -- CPU, from /proc ----------------------------------------------------------------------------


def pid_cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_group(pid: Path, database: str) -> str | None:
    """`postgres_backends` (connected to this database), `postgres_shared` (the postmaster, WAL
    writer, checkpointer...), `redis-server`, or None (anything else, other databases' backends)."""
    try:
        command = (pid / "comm").read_text().strip()
        title = (pid / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if command == "redis-server":
        return command
    if command != "postgres":
        return None
    if f" {database} " in title:
        return "postgres_backends"
    return None if "(" in title or "[local]" in title else "postgres_shared"


def server_cpu(database: str) -> dict[str, dict[int, float]]:
    """CPU used so far by each PostgreSQL and Redis process, by group and pid."""
    found: dict[str, dict[int, float]] = {}
    for entry in Path("/proc").iterdir():
        group = server_group(entry, database) if entry.name.isdigit() else None
        seconds = None if group is None else pid_cpu_seconds(int(entry.name))
        if group is not None and seconds is not None:
            found.setdefault(group, {})[int(entry.name)] = seconds
    return found


def machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass(frozen=True)
class CPUSample:
    wall: float
    seconds: dict[str, dict[int, float]]
    """Group (a process of the deployment, `postgres_backends`...) -> pid -> CPU seconds."""

    @classmethod
    def of(cls, deployed: Deployment) -> CPUSample:
        seconds = {p.name: {p.process.pid: p.cpu_seconds() or 0.0} for p in deployed.processes}
        seconds |= server_cpu(deployed.database)
        seconds["bench_client"] = {os.getpid(): time.process_time()}
        seconds["machine"] = {0: machine_busy_seconds()}
        return cls(time.perf_counter(), seconds)

    def used_since(self, start: CPUSample, group: str) -> float:
        """CPU seconds since `start`: a process that started meanwhile counts from 0, one that
        ended meanwhile is not counted (PostgreSQL's figures are lower bounds)."""
        before = start.seconds.get(group, {})
        return sum(now - before.get(pid, 0.0) for pid, now in self.seconds.get(group, {}).items())


def cpu_use(start: CPUSample, stop: CPUSample) -> dict[str, Any]:
    """CPUs each process kept busy over the window (1.0 = one core the whole time)."""
    wall = stop.wall - start.wall
    used = {group: stop.used_since(start, group) / wall for group in stop.seconds}
    machine_busy = used.pop("machine")
    named = sum(used.values())
    return {
        "seconds": round(wall, 3),
        "cpus": {name: round(value, 3) for name, value in used.items()},
        "machine_busy_cpus": round(machine_busy, 3),
        "other_processes_cpus": round(max(machine_busy - named, 0.0), 3),
    }


def cpu_ms_per(start: CPUSample, stop: CPUSample, count: int) -> dict[str, float]:
    """CPU milliseconds each process spent per operation over the window."""
    groups = [group for group in stop.seconds if group != "machine"]
    return {group: round(stop.used_since(start, group) * 1000 / count, 2) for group in groups}


# -- the database, read directly ----------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    status: str
    started_at: datetime | None
    completed_at: datetime | None


class Executions:
    """The executions table, read with SQLAlchemy Core on an engine of the bench's own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def finished(self, execution_id: str, within: float = 30.0) -> Finished:
        """Its row once terminal (polled every 2 ms: another process writes it)."""
        query = select(EXECUTIONS.c.status, EXECUTIONS.c.started_at, EXECUTIONS.c.completed_at)
        query = query.where(EXECUTIONS.c.id == uuid.UUID(execution_id))
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).one()
            if str(row.status) in TERMINAL:
                return Finished(str(row.status), row.started_at, row.completed_at)
            await asyncio.sleep(0.002)
        raise TimeoutError(f"execution {execution_id} not finished after {within:g}s")

    async def counts(self) -> dict[str, int]:
        query = select(EXECUTIONS.c.status, func.count()).group_by(EXECUTIONS.c.status)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(status): int(count) for status, count in rows}

    async def until_completed(self, count: int, within: float, every: float = 0.02) -> None:
        """Until `count` executions are COMPLETED; fails at once if one ended otherwise."""
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            counts = await self.counts()
            if counts.get("FAILED", 0) or counts.get("CANCELLED", 0):
                raise RuntimeError(f"executions did not all complete: {counts}")
            if counts.get("COMPLETED", 0) >= count:
                return
            await asyncio.sleep(every)
        raise TimeoutError(f"{count} executions not COMPLETED after {within:g}s: {counts}")


@asynccontextmanager
async def executions_of(database_url: str) -> AsyncIterator[Executions]:
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        yield Executions(engine)
    finally:
        await engine.dispose()


# -- one configuration --------------------------------------------------------------------------


async def wait_idle(within: float, below: float = 0.3) -> float | None:
    """Wait up to `within` s for the machine to be busy with less than `below` CPUs (measured
    over 1 s; none of ours runs then); the last such reading."""
    deadline = time.perf_counter() + within
    busy = None
    while time.perf_counter() < deadline:
        before = machine_busy_seconds()
        await asyncio.sleep(1.0)
        busy = round(machine_busy_seconds() - before, 3)
        if busy < below:
            break
    if busy is not None and busy >= below:
        log(f"warning: still {busy} CPUs busy with other work after waiting {within:g}s")
    return busy


@dataclass
class Setup:
    """A deployment of `mode` on a fresh database, with a READY 0 ms mock program."""

    mode: Mode
    deployed: Deployment
    executions: Executions
    api_key: str
    program_id: str
    busy_before: float | None
    """CPUs the machine was busy with before the deployment started (`--wait-idle`)."""

    def request(self, question: str) -> bytes:
        variables = {"input": {"programId": self.program_id, "inputs": {"question": question}}}
        return graphql_post(EXECUTE, variables, api_key=self.api_key)


@asynccontextmanager
async def configured(mode: Mode, phase: str, args: argparse.Namespace) -> AsyncIterator[Setup]:
    """A fresh database, its organization, the deployment and a READY program."""
    busy = None
    if args.wait_idle:
        log(f"waiting up to {args.wait_idle:g}s for other work on the machine to stop")
        busy = await wait_idle(args.wait_idle)
        log(f"  machine busy before {phase}, {mode.name}: {busy} CPUs")
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(bench_database(args.database_url))
        organization = await create_bench_organization(database.url)
        workdir = stack.enter_context(directory(f"{phase}-{mode.name}", args.logs))
        deployed = await stack.enter_async_context(
            deployment(mode, database.url, args.redis_url, workdir)
        )
        executions = await stack.enter_async_context(executions_of(database.url))
        connection = await Connection.open(deployed.port)
        try:
            program = await create_program(
                connection,
                organization.api_key,
                name="bench-jobs",
                signatureSpec="question -> answer",
                configuration={"latency_ms": 0},
                initialize=True,
            )
        finally:
            await connection.close()
        if program["status"] != "READY":
            raise RuntimeError(f"program not READY: {program}")
        yield Setup(mode, deployed, executions, organization.api_key, program["id"], busy)


def execution_id(status: int, body: bytes) -> str:
    if status != 200:
        raise RuntimeError(f"executeProgram: HTTP {status} {body[:300]!r}")
    result = json.loads(body)["data"]["executeProgram"]
    if result["__typename"] != "Execution":
        raise RuntimeError(f"executeProgram refused: {result}")
    return str(result["id"])


# -- latency ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    execution_id: str
    sent_wall: float
    """`time.time()` when the client wrote the request."""
    response: float
    """Seconds from writing the request to reading the whole response (`perf_counter`)."""
    finished: Finished

    def since_sent_ms(self, moment: datetime | float) -> float:
        seconds = moment if isinstance(moment, float) else moment.timestamp()
        return (seconds - self.sent_wall) * 1000


STARTING_JOB = re.compile(r"^(\S+ \S+) .*Starting job .*run_id='([0-9a-f-]{36})'", re.M)
"""A worker's log line (`%(asctime)s`, local time, ms) for the job of an execution it takes."""


def job_pickups(logs: Sequence[Path]) -> dict[str, float]:
    """Execution id -> when a worker logged that it starts its job (`time.time()`, ±1 ms)."""
    found: dict[str, float] = {}
    for path in logs:
        for stamp, run_id in STARTING_JOB.findall(path.read_text(errors="replace")):
            found[run_id] = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return found


def latency_figures(samples: Sequence[Sample], pickups: Mapping[str, float]) -> dict[str, Any]:
    started_ms: list[float] = []
    response_ms: list[float] = []
    completed_ms: list[float] = []
    after_ms: list[float] = []
    pickup_ms: list[float] = []
    pickup_to_start_ms: list[float] = []
    for sample in samples:
        finished = sample.finished
        if finished.status != "COMPLETED" or finished.started_at is None:
            raise RuntimeError(f"execution {sample.execution_id} ended {finished.status}")
        started_ms.append(sample.since_sent_ms(finished.started_at))
        response_ms.append(sample.response * 1000)
        after_ms.append(started_ms[-1] - response_ms[-1])
        if finished.completed_at is not None:
            completed_ms.append(sample.since_sent_ms(finished.completed_at))
        if sample.execution_id in pickups:
            pickup_ms.append(sample.since_sent_ms(pickups[sample.execution_id]))
            pickup_to_start_ms.append(started_ms[-1] - pickup_ms[-1])
    found = {
        "job_start_ms": summarize(started_ms),
        "response_ms": summarize(response_ms),
        "job_start_after_response_ms": summarize(after_ms),
        "completed_ms": summarize(completed_ms),
        "job_started_before_response": sum(after < 0 for after in after_ms),
    }
    if pickup_ms:
        found["worker_starting_job_log_ms"] = summarize(pickup_ms)
        found["worker_log_to_job_start_ms"] = summarize(pickup_to_start_ms)
    return found


async def sequential(setup: Setup, connection: Connection, count: int) -> list[Sample]:
    """`count` requests, each once the previous execution is finished."""
    samples = []
    for _ in range(count):
        request = setup.request(uuid.uuid4().hex)
        sent_wall, sent = time.time(), time.perf_counter()
        status, body = await connection.send(request)
        response = time.perf_counter() - sent
        run_id = execution_id(status, body)
        finished = await setup.executions.finished(run_id)
        samples.append(Sample(run_id, sent_wall, response, finished))
    return samples


async def measure_latency(mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    async with configured(mode, "latency", args) as setup:
        connection = await Connection.open(setup.deployed.port)
        try:
            log(f"latency, {mode.name}: {args.warmup} warm-up + {args.requests} requests")
            await sequential(setup, connection, args.warmup)
            before = CPUSample.of(setup.deployed)
            samples = await sequential(setup, connection, args.requests)
            after = CPUSample.of(setup.deployed)
        finally:
            await connection.close()
        pickups = job_pickups([worker.log for worker in setup.deployed.workers])
        deployed, busy = setup.deployed, setup.busy_before
    figures = latency_figures(samples, pickups)
    log(
        f"  job start median {figures['job_start_ms']['median']} ms, "
        f"p99 {figures['job_start_ms']['p99']} ms"
    )
    return figures | {
        "cpu": cpu_use(before, after),
        "machine_busy_cpus_before": busy,
        "exit_codes": deployed.exit_codes,
    }


# -- throughput ---------------------------------------------------------------------------------


@dataclass
class Fired:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def fire(port: int, request: bytes, count: int, clients: int) -> Fired:
    """`count` identical requests from `clients` keep-alive connections, as fast as answered."""
    connections = [await Connection.open(port) for _ in range(clients)]
    fired = Fired()
    remaining = count

    async def client(connection: Connection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            sent = time.perf_counter()
            status, body = await connection.send(request)
            fired.latencies_ms.append((time.perf_counter() - sent) * 1000)
            if status != 200 or b'"Execution"' not in body:
                fired.errors.append(f"HTTP {status} {body[:200]!r}")

    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    return fired


async def measure_throughput(mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    count, clients = args.throughput_executions, args.clients
    async with configured(mode, "throughput", args) as setup:
        request = setup.request("throughput")
        log(f"throughput, {mode.name}: {args.throughput_warmup} warm-up executions")
        warm = await fire(setup.deployed.port, request, args.throughput_warmup, clients)
        await setup.executions.until_completed(args.throughput_warmup, within=120)
        log(f"  {count} executeProgram requests from {clients} clients")
        start = CPUSample.of(setup.deployed)
        fired = await fire(setup.deployed.port, request, count, clients)
        responded = CPUSample.of(setup.deployed)
        backlog = await setup.executions.counts()
        within = max(120.0, count / 5)
        await setup.executions.until_completed(args.throughput_warmup + count, within=within)
        completed = CPUSample.of(setup.deployed)
        deployed, busy = setup.deployed, setup.busy_before
    if fired.errors or warm.errors:
        raise RuntimeError(f"{len(fired.errors)} requests failed, e.g. {fired.errors[:3]}")
    requests_s, total_s = responded.wall - start.wall, completed.wall - start.wall
    log(f"  requests {requests_s:.2f}s, all completed {total_s:.2f}s: {count / total_s:.0f}/s")
    return {
        "executions": count,
        "clients": clients,
        "requests_seconds": round(requests_s, 3),
        "requests_per_second": round(count / requests_s, 1),
        "response_ms": summarize(fired.latencies_ms),
        "completed_seconds": round(total_s, 3),
        "executions_per_second": round(count / total_s, 1),
        "drain_after_last_response_seconds": round(total_s - requests_s, 3),
        "statuses_at_last_response": backlog,
        "cpu_while_requests": cpu_use(start, responded),
        "cpu_after_requests": cpu_use(responded, completed),
        "cpu_whole": cpu_use(start, completed),
        "cpu_ms_per_execution": cpu_ms_per(start, completed, count),
        "machine_busy_cpus_before": busy,
        "exit_codes": deployed.exit_codes,
    }


# -- the run ------------------------------------------------------------------------------------


def modes(worker_counts: Sequence[int]) -> list[Mode]:
    return [Mode.inprocess(), *(Mode.procrastinate(n) for n in worker_counts)]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if make_url(args.database_url).get_backend_name() != "postgresql":
        raise SystemExit("bench.jobs needs PostgreSQL (--database-url postgresql+asyncpg://...)")
    load_before = warn_if_busy()
    result: dict[str, Any] = {
        "benchmark": "jobs",
        "setup": setup_text(args),
        "database": make_url(args.database_url).render_as_string(hide_password=True),
        "redis": args.redis_url,
        "versions": versions() | {"procrastinate": package_version("procrastinate")},
        "machine": machine() | {"load_average_1m_before": load_before},
    }
    if "latency" in args.only:
        result["latency"] = {mode.name: await measure_latency(mode, args) for mode in modes([1])}
    if "throughput" in args.only:
        result["throughput"] = {
            mode.name: await measure_throughput(mode, args) for mode in modes(args.workers)
        }
    return result


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def setup_text(args: argparse.Namespace) -> str:
    return (
        "each configuration on a fresh PostgreSQL database (created, migrated, dropped); real "
        "processes: `python -m dspex_gql serve --no-migrate` (DSPEX_JOBS=inprocess) or "
        "`serve --no-migrate --no-worker` + N x `worker --queues executions` "
        "(DSPEX_JOBS=procrastinate), default settings otherwise (uvicorn access log on, "
        "INFO logs to files), clean environment, DSPEX_BROADCAST_URL=Redis; the bench process "
        f"is the client (real HTTP/1.1 over loopback, loop {event_loop_name()}) and reads the "
        "executions table with SQLAlchemy Core; mock program, latency_ms 0; job start = stored "
        "startedAt - time.time() at the client's write (same machine clock); throughput: "
        f"{args.clients} keep-alive connections, completion polled every 20 ms; CPU from /proc "
        f"(1.0 = one core busy; machine has {os.cpu_count()} CPUs); every request carries the "
        "API key of an organization's admin made for the run (create_org), rate limit raised "
        f"(DSPEX_LIMITS_REQUESTS_PER_SECOND={BENCH_LIMITS.requests_per_second:g}, "
        f"DSPEX_LIMITS_REQUEST_BURST={BENCH_LIMITS.request_burst}) but still consulted"
    )


def csv(kind: type[Any]) -> Any:
    def parse(text: str) -> list[Any]:
        return [kind(part.strip()) for part in text.split(",") if part.strip()]

    return parse


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="a PostgreSQL server")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="the event hub")
    parser.add_argument("--requests", type=int, default=300, help="latency: measured, per mode")
    parser.add_argument("--warmup", type=int, default=20, help="latency: before measuring")
    parser.add_argument("--throughput-executions", type=int, default=2000)
    parser.add_argument("--throughput-warmup", type=int, default=50)
    parser.add_argument("--clients", type=int, default=16, help="throughput: connections")
    parser.add_argument("--workers", type=csv(int), default=[1, 2, 4], help="e.g. 1,2,4")
    parser.add_argument("--only", type=csv(str), default=["latency", "throughput"])
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="before each configuration, wait up to this many seconds for other work on the "
        "machine to fall under 0.3 CPUs (a shared machine)",
    )
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    args = parser.parse_args()
    unknown = set(args.only) - {"latency", "throughput"}
    if unknown:
        parser.error(f"--only takes latency,throughput; got {sorted(unknown)}")
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()

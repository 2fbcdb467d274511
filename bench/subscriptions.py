"""Live subscribers (`executionUpdated`): how many the service holds, what each costs, and how
late an event reaches them, against a bare websocket fan-out of the same events in the same run.

    python -m bench.subscriptions [--database-url URL] [--redis-url URL] [--subscribers 500]
                                  [--executions 100] [--client-processes 4] [--seconds 20]
                                  [--idle-seconds 3] [--open-concurrency 25] [--only service,raw]

Set-up (once per run): a scratch database (`bench_database`), the bench organization and its API
key (`create_bench_organization`), one program created through `createProgram` on a service
started for that alone, then `--executions` rows inserted with SQLAlchemy Core as RUNNING with
`sequence` 1. They belong to a `service_processes` lease of the bench's own (another "machine",
expiring in a day), so the service takes them for another replica's live runs: no sweep reclaims
them, nothing runs them, and they stay RUNNING for the whole benchmark.

The driver (this process, with the service's own `Hub` on the same Redis): each execution gets
one event a second, the executions spread evenly over the second. An event is what the service
does for a change: UPDATE the row (`sequence` + 1, and the stamp, below) in one transaction (the
executions due together share one executemany), then publish `ExecutionChanged` built from the
row's columns on each of `event.channels()` (`Runs.announce`), so the bytes on the wire are the
service's. The stamp is the driver's `time.time()` taken before the UPDATE, stored as the row's
`started_at` and carried by the event's `started_at`: the service's `follow` does not re-read the
row for a non-terminal event, it applies the event's `sequence`, `status` and `started_at` to the
snapshot it read when the subscription opened (`ExecutionService._advance`), so a stamp in
`metadata` or `outputs` would never reach the client. The subscription selects
`id sequence startedAt`; latency = the client's `time.time()` on receiving the `next` minus the
stamp (one clock), so it includes the driver's UPDATE (`driver.write_ms`, the same for both).

Clients: `--client-processes` processes (this module, `--client PLAN`), each opening its share of
`--subscribers` websockets (`websockets`, subprotocol graphql-transport-ws, `connection_init` with
`{"authorization": "Bearer <key>"}`, one `subscribe` per socket, subscribers spread round-robin
over the executions, `--open-concurrency` opens in flight per process), as browsers do
(permessage-deflate offered, no client pings; uvicorn pings every 20 s). The servers accept
compression only with `--server-compression` (the service's default, `DSPEX_SERVER_WS_COMPRESSION`,
is off). With `--subscriptions-per-socket K`, each socket carries K subscriptions (operation ids
1..K, each of another execution): this container caps a process at 20,000 open files, so 20,000
subscriptions need K = 2. Once its sockets are open a client freezes its heap (`gc.freeze`): a
client's full collection (0.6-0.8 s with 2,500 sockets) otherwise delays every message it times.
The first `next` is the snapshot (its `sequence` is the one the driver left): not a latency. For
each later `next` a client records the latency and the sequence, so it counts gaps (skipped
sequences: coalesced or lost) and messages out of order; the expected count is the driver's events
per execution times the subscriptions of it that opened; lost = expected - received. At 1 event/s
per execution no coalescing should happen.

Servers, one at a time, each a process of its own (this module, `--serve KIND`) on an inherited
listening socket, or `--server-processes N` of them on one port (`SO_REUSEPORT`: the kernel
spreads the connections; a process may hold 20,000 files here, so 20,000 sockets take two; their
CPU, memory and GC pauses are added up), uvicorn as `dspex-gql serve` runs it (loop/HTTP "auto":
uvloop, httptools; `ws_max_size` as the CLI sets it) but without access logs. The service's
websockets are its own layer below ASGI (`graphql/websocket_server.py`, as `serve` sets it); the
raw route's are uvicorn's own (websockets-sansio), as any ASGI app gets them:
- `service`: `create_app` with the deployed defaults (`common.service_settings`: rate limit
  raised, still consulted for each operation), `DSPEX_BROADCAST_URL` = Redis.
- `raw`: a Starlette websocket route that speaks just enough graphql-transport-ws (ack, pong,
  `subscribe` → a snapshot `next` with null fields, then every event), holds one broadcaster
  subscription per execution channel through the service's `BackendConnection` (as the hub
  does), and forwards each event to every socket of that execution as a `next` of the same shape
  (`startedAt` re-formatted as the service does). No database, no GraphQL, no authentication.

Phases per server: warm-up (one subscription opened and closed by this process, then 1 s), open
all (timed; server CPU per subscription), idle `--idle-seconds` (RSS after it minus RSS before
opening = memory per idle subscription), drive events for `--seconds` (the steady window: server
CPU, latency), then each client waits until no message has come for 1 s (at most 15 s) and
reports. CPU and RSS from /proc: the server, the clients, this process (the driver), Redis, and on
PostgreSQL the backends of the scratch database; `other_processes_cpus` is the rest of the
machine. On a 2-core machine one server process can use at most 50 % of it. GC pauses: the
server's over the steady window (`steady.server_gc`), each client's after opening
(`steady.clients_gc_after_open`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from broadcaster import Broadcast
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench.common import (
    PROJECT_ROOT,
    BenchDatabase,
    BenchOrganization,
    add_database_argument,
    bench_database,
    busy_cpu_seconds,
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
from bench.gcstats import GCStats
from bench.httpclient import HOST, Connection, wait_until_up
from bench.jobs import pid_cpu_seconds, server_cpu
from bench.raw_app import EXECUTIONS
from bench.seed import create_program
from bench.serve import Server, service_app
from dspex_gql.config import DatabaseSettings, ServerSettings
from dspex_gql.db.base import utcnow
from dspex_gql.db.engine import SQLITE_BEGIN, create_engine
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.orchestrator.processes import ServiceProcess
from dspex_gql.pubsub import Hub, channels
from dspex_gql.pubsub.connection import BackendConnection

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PROTOCOL = "graphql-transport-ws"
FIELD = "executionUpdated"
DOCUMENT = "subscription($id: ID!) { executionUpdated(id: $id) { id sequence startedAt } }"
SERVICE_PROCESSES: Table = ServiceProcess.__table__  # type: ignore[assignment]
LEASE_MACHINE = "bench.subscriptions driver"
"""The `machine` of the bench's lease: not this machine's, so no sweep checks its pid."""
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
WARM_UP_PAUSE = 1.0
OPEN_ONE_TIMEOUT = 30.0
QUIET_SECONDS = 1.0
MAX_DRAIN_SECONDS = 15.0
REPLY_MARGIN = 60.0
"""How much longer than its own deadlines a client may take to answer before it is presumed hung."""
PONG = json.dumps({"type": "pong"})
TARGETS = {
    "p99_ms_at_10000": 250.0,
    "server_share_of_machine_at_10000": 0.5,
    "p99_ms_at_20000": 1000.0,
    "lost_at_20000": 0,
    "idle_kib_per_subscription": 20.0,
    "open_server_cpu_ms_per_subscription": 1.0,
}
"""The issue's figures: 10,000 subscriptions at 1 event/s each (p99 event → client ≤ 250 ms,
server ≤ 50 % of the machine); 20,000 held (p99 ≤ 1 s, nothing lost); ≤ 20 KiB server memory per
idle subscription; ≤ 1 ms server CPU to open one."""


# -- processes: limits, /proc ---------------------------------------------------------------------


def raise_open_files_limit() -> int:
    """The soft RLIMIT_NOFILE raised to the hard one (children inherit it); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft != wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def exit_with_parent() -> None:
    """SIGTERM to this process once its parent is gone (no orphan if the bench is killed)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def total_rss_kib(pids: Sequence[int]) -> int | None:
    """The processes' resident memory, added up; None if one is gone."""
    found = [rss_kib(pid) for pid in pids]
    return None if None in found else sum(kib for kib in found if kib is not None)


def rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


async def stop_process(process: asyncio.subprocess.Process, name: str, sig: int) -> None:
    """`sig`, then SIGKILL after STOP_SECONDS."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            log(f"{name} did not stop within {STOP_SECONDS:g}s: killed")
            process.kill()
            await process.wait()


# -- set-up: a program and RUNNING executions nobody runs -----------------------------------------


@dataclass(frozen=True)
class Target:
    """An execution subscribers follow."""

    id: uuid.UUID
    program_id: uuid.UUID


async def insert_lease(engine: AsyncEngine) -> uuid.UUID:
    """A `service_processes` row that stays valid for a day and names no process of this
    machine: the service takes the runs it owns for another replica's."""
    lease, now = uuid.uuid4(), utcnow()
    row = {
        "id": lease,
        "machine": LEASE_MACHINE,
        "pid": os.getpid(),
        "started_at": now,
        "renewed_at": now,
        "expires_at": now + timedelta(days=1),
    }
    async with engine.begin() as connection:
        await connection.execute(insert(SERVICE_PROCESSES), [row])
    return lease


async def insert_running_executions(
    engine: AsyncEngine, organization: BenchOrganization, program_id: uuid.UUID, count: int
) -> list[Target]:
    lease, now = await insert_lease(engine), utcnow()
    targets = [Target(uuid.uuid4(), program_id) for _ in range(count)]
    rows = [
        {
            "id": target.id,
            "organization_id": organization.id,
            "created_by": organization.admin_id,
            "program_id": program_id,
            "status": ExecutionStatus.RUNNING,
            "sequence": 1,
            "inputs": {"question": "bench"},
            "metadata": {},
            "started_at": now,
            "process_id": lease,
        }
        for target in targets
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(EXECUTIONS), rows)
    return targets


async def create_bench_program(port: int, organization: BenchOrganization) -> uuid.UUID:
    connection = await Connection.open(port)
    try:
        program = await create_program(
            connection,
            organization.api_key,
            name="bench-subscriptions",
            signatureSpec="question -> answer",
        )
    finally:
        await connection.close()
    return uuid.UUID(program["id"])


# -- the driver: one event per execution per second ----------------------------------------------


UPDATE_EXECUTION = (
    update(EXECUTIONS)
    .where(EXECUTIONS.c.id == bindparam("b_id"))
    .values(sequence=bindparam("b_sequence"), started_at=bindparam("b_started_at"))
)


@dataclass
class Driven:
    """What the driver did in one window."""

    published: Counter[uuid.UUID] = field(default_factory=Counter)
    behind_ms: list[float] = field(default_factory=list)
    """How late each event was written, against its slot in the schedule."""
    write_ms: list[float] = field(default_factory=list)
    """From the stamp to the event handed to the hub: the UPDATE's transaction."""
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        total = sum(self.published.values())
        return {
            "events": total,
            "events_per_second": round(total / self.seconds, 1) if self.seconds else None,
            "behind_schedule_ms": summarize(self.behind_ms),
            "write_ms": summarize(self.write_ms),
        }


class Driver:
    """Changes executions as the service would, and publishes their events on its hub."""

    def __init__(self, engine: AsyncEngine, hub: Hub, targets: Sequence[Target]) -> None:
        self._engine = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self._hub = hub
        self._targets = list(targets)
        self.sequences = {target.id: 1 for target in targets}

    async def drive(self, seconds: float) -> Driven:
        """One event per execution per second for `seconds`: event i is due `i / executions`
        seconds after the start."""
        count = len(self._targets)
        total, done = round(seconds * count), 0
        driven, start = Driven(), time.perf_counter()
        while done < total:
            await asyncio.sleep(max(0.0, start + done / count - time.perf_counter()))
            now = time.perf_counter()
            due = min(total, max(done + 1, int((now - start) * count) + 1))
            driven.behind_ms += [(now - start - i / count) * 1000 for i in range(done, due)]
            await self._change([self._targets[i % count] for i in range(done, due)], driven)
            done = due
        driven.seconds = time.perf_counter() - start
        return driven

    async def _change(self, targets: Sequence[Target], driven: Driven) -> None:
        stamp = time.time()
        started_at = datetime.fromtimestamp(stamp, UTC)
        events = [self._next_event(target, started_at) for target in targets]
        rows = [
            {"b_id": e.id, "b_sequence": e.sequence, "b_started_at": e.started_at} for e in events
        ]
        async with self._engine.begin() as connection:
            await connection.execute(UPDATE_EXECUTION, rows)
        for event in events:
            for channel in event.channels():  # as `Runs.announce` does
                await self._hub.publish(channel, event)
            driven.published[event.id] += 1
        driven.write_ms += [(time.time() - stamp) * 1000] * len(events)

    def _next_event(self, target: Target, started_at: datetime) -> ExecutionChanged:
        self.sequences[target.id] += 1
        return ExecutionChanged(
            id=target.id,
            sequence=self.sequences[target.id],
            program_id=target.program_id,
            status=ExecutionStatus.RUNNING,
            started_at=started_at,
        )


# -- the raw baseline: websocket fan-out of the same events, nothing else -------------------------


def next_message(operation: str, data: str) -> str:
    return f'{{"id":{json.dumps(operation)},"type":"next","payload":{data}}}'


def execution_data(payload: str) -> str:
    """The `payload` of a `next` for an `ExecutionChanged` event's JSON, as the service shapes it
    (`startedAt` in `datetime.isoformat()`, as Strawberry's DateTime)."""
    event = json.loads(payload)
    started = event.get("started_at")
    started_at = None if started is None else datetime.fromisoformat(started).isoformat()
    fields = {"id": event["id"], "sequence": event["sequence"], "startedAt": started_at}
    return json.dumps({"data": {FIELD: fields}})


class ChannelFanout:
    """One backend subscription to a channel, forwarded to each socket subscribed to it."""

    def __init__(self, channel: str, connection: BackendConnection) -> None:
        self.channel = channel
        self.sockets: dict[WebSocket, str] = {}
        """Each socket and its subscription's operation id."""
        self._live = asyncio.Event()
        self._pump = asyncio.create_task(self._run(connection), name=f"fan-out {channel}")

    async def wait_live(self) -> None:
        live = asyncio.ensure_future(self._live.wait())
        await asyncio.wait([live, self._pump], return_when=asyncio.FIRST_COMPLETED)
        live.cancel()
        if not self._live.is_set():
            raise RuntimeError(f"could not subscribe to {self.channel!r}")

    def stop(self) -> None:
        self._pump.cancel()

    async def _run(self, connection: BackendConnection) -> None:
        async with connection.subscribe(self.channel) as subscriber:
            self._live.set()
            while True:
                event = await subscriber.get()
                await self._forward(execution_data(event.message))

    async def _forward(self, data: str) -> None:
        for websocket, operation in list(self.sockets.items()):
            with contextlib.suppress(Exception):  # a socket closing meanwhile; its handler leaves
                await websocket.send_text(next_message(operation, data))


class Fanout:
    """The raw server's state: the backend connection and one `ChannelFanout` per channel."""

    def __init__(self, connection: BackendConnection) -> None:
        self._connection = connection
        self._channels: dict[str, ChannelFanout] = {}

    async def join(self, channel: str, websocket: WebSocket, operation: str) -> ChannelFanout:
        fanout = self._channels.get(channel)
        if fanout is None:
            fanout = self._channels[channel] = ChannelFanout(channel, self._connection)
        fanout.sockets[websocket] = operation
        try:
            await fanout.wait_live()
        except BaseException:
            self.leave(fanout, websocket)
            raise
        return fanout

    def leave(self, fanout: ChannelFanout, websocket: WebSocket) -> None:
        fanout.sockets.pop(websocket, None)
        if not fanout.sockets and self._channels.get(fanout.channel) is fanout:
            del self._channels[fanout.channel]
            fanout.stop()

    def stop(self) -> None:
        for fanout in self._channels.values():
            fanout.stop()
        self._channels.clear()


async def serve_socket(fanout: Fanout, websocket: WebSocket) -> None:
    """graphql-transport-ws, just enough: ack any init, answer pings, subscriptions (each to
    another execution)."""
    await websocket.accept(subprotocol=PROTOCOL)
    joined: list[ChannelFanout] = []
    try:
        async for text in websocket.iter_text():
            message = json.loads(text)
            kind = message.get("type")
            if kind == "connection_init":
                await websocket.send_text('{"type":"connection_ack"}')
            elif kind == "ping":
                await websocket.send_text(PONG)
            elif kind == "subscribe":
                joined.append(await subscribe_socket(fanout, websocket, message))
            elif kind == "complete":
                break
    finally:
        for channel in joined:
            fanout.leave(channel, websocket)


async def subscribe_socket(
    fanout: Fanout, websocket: WebSocket, message: dict[str, Any]
) -> ChannelFanout:
    operation = str(message["id"])
    execution_id = str(message["payload"]["variables"]["id"])
    joined = await fanout.join(channels.execution(uuid.UUID(execution_id)), websocket, operation)
    snapshot = {"id": execution_id, "sequence": None, "startedAt": None}  # no database
    await websocket.send_text(next_message(operation, json.dumps({"data": {FIELD: snapshot}})))
    return joined


def create_fanout_app(redis_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anchor = f"bench.raw-fanout.{uuid.uuid4().hex[:12]}.anchor"
        connection = await BackendConnection.open(Broadcast(redis_url), anchor)
        app.state.fanout = Fanout(connection)
        try:
            yield
        finally:
            app.state.fanout.stop()
            await connection.close(grace=2.0)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def graphql(websocket: WebSocket) -> None:
        await serve_socket(websocket.app.state.fanout, websocket)

    routes = [Route("/healthz", healthz), WebSocketRoute("/graphql", graphql)]
    return Starlette(routes=routes, lifespan=lifespan)


# -- servers: each in a process of its own ------------------------------------------------------


class ServerFailed(RuntimeError):
    """A server process did not come up."""


@dataclass(frozen=True)
class ServerProcess:
    kind: str
    process: asyncio.subprocess.Process
    port: int
    gc_stats: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def start_gc_window(self) -> None:
        self.gc_stats.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)

    async def gc_window(self) -> dict[str, Any]:
        """The GC pauses since `start_gc_window`."""
        os.kill(self.pid, signal.SIGUSR2)
        async with asyncio.timeout(5):
            while not self.gc_stats.exists():  # noqa: ASYNC110 (another process writes it)
                await asyncio.sleep(0.01)
        figures: dict[str, Any] = json.loads(self.gc_stats.read_text())
        return figures


def serve(
    kind: str,
    fd: int,
    database_url: str,
    redis_url: str,
    gc_stats: Path,
    compression: bool,
    ready_file: Path | None = None,
) -> None:
    """The `--serve` mode: uvicorn on the inherited socket until SIGINT or SIGTERM, recording
    GC pauses over the window the parent marks (`bench/gcstats.py`)."""
    raise_open_files_limit()
    exit_with_parent()
    app: ASGIApp = service_app(database_url) if kind == "service" else create_fanout_app(redis_url)
    options = ServerSettings(ws_compression=compression).uvicorn_options()
    if kind == "raw":
        options["ws"] = "auto"  # uvicorn's own websockets, as any ASGI app gets them
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        **options,  # type: ignore[arg-type]
    )
    listening = socket.socket(fileno=fd)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the signal it stopped on
        Server(config, gc_stats, ready_file=ready_file).run(sockets=[listening])


def child_environment(redis_url: str) -> dict[str, str]:
    """This environment without DSPEX_* settings, plus the hub's Redis and this worktree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSPEX_")}
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env | {"DSPEX_BROADCAST_URL": redis_url, "PYTHONPATH": path}


def listening_sockets(count: int) -> list[socket.socket]:
    """`count` sockets listening on one port (`SO_REUSEPORT`: the kernel spreads new connections
    over them evenly), one for each server process."""
    sockets: list[socket.socket] = []
    port = 0
    for _ in range(count):
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listening.bind((HOST, port))
        listening.listen(4096)
        port = listening.getsockname()[1]
        sockets.append(listening)
    return sockets


async def until_up(kind: str, process: asyncio.subprocess.Process, port: int) -> None:
    """Until the server answers its readiness path; `ServerFailed` if it ends or takes too long."""
    path = "/readyz" if kind == "service" else "/healthz"  # /readyz: database and hub answer
    up = asyncio.ensure_future(wait_until_up(port, path, within=STARTUP_SECONDS))
    ended = asyncio.ensure_future(process.wait())
    await asyncio.wait([up, ended], return_when=asyncio.FIRST_COMPLETED)
    up.cancel()
    ended.cancel()
    if ended.done() and not ended.cancelled():
        raise ServerFailed(
            f"the {kind} server exited with code {process.returncode} before it answered "
            f"GET {path} (its output is above, on stderr)"
        )
    if up.cancelled() or up.exception() is not None:
        raise ServerFailed(f"the {kind} server did not answer GET {path}: {up.exception()}")


@dataclass(frozen=True)
class Servers:
    """The server processes of one kind on one port; their CPU, memory and GC pauses add up."""

    processes: list[ServerProcess]
    port: int

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.processes]

    def start_gc_window(self) -> None:
        for server in self.processes:
            server.start_gc_window()

    async def gc_window(self) -> dict[str, Any]:
        """One process's GC figures; with several, each one's and the sum of their pauses."""
        figures = [await server.gc_window() for server in self.processes]
        if len(figures) == 1:
            return figures[0]
        return {
            "pause_total_ms": round(sum(f["pause_total_ms"] for f in figures), 1),
            "share_of_window": max(f["share_of_window"] for f in figures),
            "per_process": figures,
        }


async def until_ready(kind: str, process: asyncio.subprocess.Process, ready_file: Path) -> None:
    """Until the server process says it accepts connections; `ServerFailed` if it ends first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready_file.exists():  # noqa: ASYNC240 (a stat; another process creates it)
        if process.returncode is not None or time.monotonic() > deadline:
            raise ServerFailed(
                f"a {kind} server process did not start (exit code {process.returncode}; its "
                "output is above, on stderr)"
            )
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running_servers(
    kind: str, database_url: str, redis_url: str, compression: bool = False, count: int = 1
) -> AsyncIterator[Servers]:
    """`count` processes of `python -m bench.subscriptions --serve KIND` on sockets bound here on
    one port (no port race); their output goes to this process's stderr; stopped with SIGINT
    (then SIGKILL) at the end. Several processes hold more sockets than one process may open."""
    directory = Path(tempfile.mkdtemp(prefix="bench-servers-"))
    sockets = listening_sockets(count)
    port = sockets[0].getsockname()[1]
    servers: list[ServerProcess] = []
    try:
        for index, listening in enumerate(sockets):
            fd = listening.fileno()
            gc_stats, ready = directory / f"gc-{index}.json", directory / f"ready-{index}"
            command = [sys.executable, "-m", "bench.subscriptions", "--serve", kind]
            command += ["--fd", str(fd), "--database-url", database_url, "--redis-url", redis_url]
            command += ["--gc-stats", str(gc_stats), "--ready-file", str(ready)]
            command += ["--server-compression"] if compression else []
            process = await asyncio.create_subprocess_exec(
                *command,
                pass_fds=(fd,),
                cwd=PROJECT_ROOT,
                env=child_environment(redis_url),
                stdout=sys.stderr,
            )
            servers.append(ServerProcess(kind, process, port, gc_stats))
            listening.close()
            started = time.perf_counter()
            await until_ready(kind, process, ready)
            took = time.perf_counter() - started
            log(f"{kind} server up on port {port} (pid {process.pid}, {took:.1f}s)")
        await until_up(kind, servers[0].process, port)
        yield Servers(servers, port)
    finally:
        for listening in sockets:
            listening.close()
        for server in servers:
            await stop_process(server.process, f"the {kind} server", signal.SIGINT)
            log(f"{kind} server stopped (exit code {server.process.returncode})")


# -- a subscriber ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one client process saw of the events, over all its subscriptions."""

    latencies_ms: list[float] = field(default_factory=list)
    received: int = 0
    snapshots: int = 0
    gaps: int = 0
    """Sequences skipped between two messages of one subscription (coalesced or lost)."""
    out_of_order: int = 0
    closed: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    last_message: float = 0.0
    """`time.monotonic()` of the last message received."""

    def figures(self) -> dict[str, Any]:
        return {
            "latencies_ms": self.latencies_ms,
            "received": self.received,
            "snapshots": self.snapshots,
            "gaps": self.gaps,
            "out_of_order": self.out_of_order,
            "closed": dict(self.closed),
            "unexpected": dict(self.unexpected),
        }


@dataclass
class Subscription:
    execution_id: str
    start_sequence: int
    """The execution's sequence before the window: a `next` at or below it is the snapshot."""
    last_sequence: int = 0

    def take(self, message: dict[str, Any], received_at: float, tally: Tally) -> None:
        kind = message.get("type")
        update = ((message.get("payload") or {}).get("data") or {}).get(FIELD)
        if kind != "next" or not isinstance(update, dict):
            tally.unexpected[str(kind)] += 1
            return
        sequence = update.get("sequence")
        if not isinstance(sequence, int) or sequence <= self.start_sequence:
            tally.snapshots += 1
            return
        tally.received += 1
        stamp = datetime.fromisoformat(update["startedAt"]).timestamp()
        tally.latencies_ms.append(round((received_at - stamp) * 1000, 3))
        if sequence > self.last_sequence + 1:
            tally.gaps += sequence - self.last_sequence - 1
        elif sequence <= self.last_sequence:
            tally.out_of_order += 1
        self.last_sequence = max(self.last_sequence, sequence)


@dataclass
class SocketOfSubscriptions:
    """One websocket carrying one or more subscriptions, by operation id ("1", "2", ...)."""

    subscriptions: dict[str, Subscription]
    websocket: ClientConnection | None = None

    def abort(self) -> None:
        if self.websocket is not None:
            self.websocket.transport.abort()


def subscribe_message(operation: str, execution_id: str) -> str:
    payload = {"query": DOCUMENT, "variables": {"id": execution_id}}
    return json.dumps({"id": operation, "type": "subscribe", "payload": payload})


async def receive_json(websocket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await websocket.recv())
    return message


async def open_subscriptions(
    url: str, api_key: str, socket: SocketOfSubscriptions, compression: str | None, tally: Tally
) -> None:
    """Connect, init, subscribe each, and read each snapshot; raises `OpenFailed` with the
    reason."""
    websocket = await connect(
        url,
        subprotocols=[Subprotocol(PROTOCOL)],
        compression=compression,
        ping_interval=None,
        open_timeout=None,
        close_timeout=2,
    )
    socket.websocket = websocket
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {api_key}"}}
    await websocket.send(json.dumps(init))
    ack = await receive_json(websocket)
    if ack.get("type") != "connection_ack":
        raise OpenFailed(f"no connection_ack: {str(ack)[:120]}")
    for operation, asked in socket.subscriptions.items():
        await websocket.send(subscribe_message(operation, asked.execution_id))
    waiting = set(socket.subscriptions)
    while waiting:
        snapshot = await receive_json(websocket)
        subscription = socket.subscriptions.get(snapshot.get("id", ""))
        if snapshot.get("type") != "next" or subscription is None:
            raise OpenFailed(
                f"{snapshot.get('type')} instead of the snapshot: {str(snapshot)[:120]}"
            )
        waiting.discard(snapshot["id"])
        subscription.last_sequence = subscription.start_sequence
        subscription.take(snapshot, time.time(), tally)


class OpenFailed(Exception):
    pass


def failure_reason(error: BaseException) -> str:
    if isinstance(error, OpenFailed):
        return str(error)
    if isinstance(error, ConnectionClosed):
        frame = error.rcvd
        return "closed without a close frame" if frame is None else f"closed {frame.code}"
    if isinstance(error, TimeoutError):
        return f"no snapshot within {OPEN_ONE_TIMEOUT:g}s"
    return f"{type(error).__name__}: {str(error)[:80]}"


async def read_events(socket: SocketOfSubscriptions, tally: Tally) -> None:
    websocket = socket.websocket
    assert websocket is not None
    try:
        async for raw in websocket:
            received_at = time.time()
            tally.last_message = time.monotonic()
            message = json.loads(raw)
            if message.get("type") == "ping":
                await websocket.send(PONG)
                continue
            subscription = socket.subscriptions.get(message.get("id", ""))
            if subscription is None:
                tally.unexpected[f"{message.get('type')} of no subscription"] += 1
                continue
            subscription.take(message, received_at, tally)
        tally.closed["by the server, normally"] += 1
    except ConnectionClosed as error:
        tally.closed[failure_reason(error)] += 1


# -- a client process (`--client PLAN`) ----------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    url: str
    api_key: str
    subscriptions: list[tuple[str, int]]
    """(execution id, its sequence now), one per subscriber of this process."""
    per_socket: int
    open_concurrency: int
    open_deadline: float
    compression: str | None
    directory: str
    index: int

    def path(self, name: str) -> Path:
        return Path(self.directory) / f"{name}-{self.index}.json"

    @classmethod
    def load(cls, path: Path) -> ClientPlan:
        fields = json.loads(path.read_text())
        fields["subscriptions"] = [tuple(pair) for pair in fields["subscriptions"]]
        return cls(**fields)


@dataclass
class Opening:
    """The open phase of one client process."""

    open_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    per_execution: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class Subscriber:
    """A client process's subscriptions, and what they received."""

    def __init__(self, plan: ClientPlan) -> None:
        self.plan = plan
        self.tally = Tally()
        self.sockets: list[SocketOfSubscriptions] = []
        self.readers: set[asyncio.Task[None]] = set()

    async def open_all(self) -> Opening:
        opening, started = Opening(), time.perf_counter()
        gate = asyncio.Semaphore(self.plan.open_concurrency)
        pairs, size = self.plan.subscriptions, self.plan.per_socket
        groups = [
            SocketOfSubscriptions(
                {str(n): Subscription(*pair) for n, pair in enumerate(pairs[i : i + size], 1)}
            )
            for i in range(0, len(pairs), size)
        ]
        tasks = [asyncio.create_task(self._open(group, gate, opening)) for group in groups]
        _, late = await asyncio.wait(tasks, timeout=self.plan.open_deadline)
        for task in late:
            task.cancel()
        if late:
            opening.failures[f"not open after {self.plan.open_deadline:g}s"] += len(late)
        opening.seconds = time.perf_counter() - started
        return opening

    async def _open(
        self, socket: SocketOfSubscriptions, gate: asyncio.Semaphore, opening: Opening
    ) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(OPEN_ONE_TIMEOUT):
                    await open_subscriptions(
                        self.plan.url,
                        self.plan.api_key,
                        socket,
                        self.plan.compression,
                        self.tally,
                    )
            except BaseException as error:
                socket.abort()
                if not isinstance(error, Exception):
                    raise  # cancelled: the deadline counts it
                opening.failures[failure_reason(error)] += len(socket.subscriptions)
                return
        opening.open_ms.append(round((time.perf_counter() - started) * 1000, 3))
        for subscription in socket.subscriptions.values():
            opening.per_execution[subscription.execution_id] += 1
        self.sockets.append(socket)
        reader = asyncio.create_task(read_events(socket, self.tally))
        self.readers.add(reader)

    async def until_quiet(self) -> float:
        """Until no message has come for QUIET_SECONDS (at most MAX_DRAIN_SECONDS); how long."""
        started = time.monotonic()
        while time.monotonic() - started < MAX_DRAIN_SECONDS:
            quiet_for = time.monotonic() - max(self.tally.last_message, started)
            if quiet_for >= QUIET_SECONDS:
                break
            await asyncio.sleep(QUIET_SECONDS - quiet_for)
        return time.monotonic() - started

    def abort(self) -> None:
        """Drop every socket at once (the kernel closes them): the measurement is over."""
        for reader in self.readers:
            reader.cancel()
        for group in self.sockets:
            group.abort()


async def stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def command(reader: asyncio.StreamReader, expected: str) -> None:
    line = (await reader.readline()).decode().strip()
    if line != expected:  # "" when the parent is gone
        raise SystemExit(f"client: expected {expected!r} on stdin, got {line!r}")


def say(word: str) -> None:
    print(word, flush=True)


async def client(plan_path: Path) -> None:
    """The `--client` mode: `ready`; on `open`, open all, write `opened-N.json`, `opened`; on
    `report`, wait until quiet, write `report-N.json`, `reported`; then drop the sockets."""
    raise_open_files_limit()
    exit_with_parent()
    plan = ClientPlan.load(plan_path)
    subscriber, commands = Subscriber(plan), await stdin_lines()
    say("ready")
    await command(commands, "open")
    opening = await subscriber.open_all()
    opened = {
        "open_ms": opening.open_ms,
        "failures": dict(opening.failures),
        "per_execution": dict(opening.per_execution),
        "seconds": opening.seconds,
    }
    plan.path("opened").write_text(json.dumps(opened))
    # The sockets stay until the end: frozen out of the collector's scans, or a client's full
    # collection (0.6-0.8 s with 2,500 sockets) delays every message it is timing.
    gc.collect()
    gc.freeze()
    gc_stats = GCStats().attach()  # from here: the clients' own pauses delay what they time
    say("opened")
    await command(commands, "report")
    drain = await subscriber.until_quiet()
    figures = subscriber.tally.figures() | {"drain_seconds": drain, "gc": gc_stats.figures()}
    plan.path("report").write_text(json.dumps(figures))
    say("reported")
    subscriber.abort()


# -- the client processes, from the parent --------------------------------------------------------


@dataclass
class ClientProcess:
    index: int
    process: asyncio.subprocess.Process
    plan: ClientPlan

    async def expect(self, word: str, within: float) -> None:
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
        except TimeoutError:
            line = b"(nothing: timed out)"
        if line.decode().strip() != word:
            code = self.process.returncode
            raise RuntimeError(
                f"client {self.index} said {line!r}, not {word!r} (exit code {code})"
            )

    def tell(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{word}\n".encode())

    def result(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.plan.path(name).read_text())
        return found


class ClientGroup:
    def __init__(self, clients: Sequence[ClientProcess], deadline: float) -> None:
        self.clients = list(clients)
        self._deadline = deadline

    @property
    def pids(self) -> list[int]:
        return [c.process.pid for c in self.clients]

    async def open(self) -> list[dict[str, Any]]:
        for c in self.clients:
            c.tell("open")
        await asyncio.gather(
            *(c.expect("opened", self._deadline + REPLY_MARGIN) for c in self.clients)
        )
        return [c.result("opened") for c in self.clients]

    async def report(self) -> list[dict[str, Any]]:
        for c in self.clients:
            c.tell("report")
        within = MAX_DRAIN_SECONDS + REPLY_MARGIN
        await asyncio.gather(*(c.expect("reported", within) for c in self.clients))
        return [c.result("report") for c in self.clients]


def shares(subscribers: int, processes: int) -> list[list[int]]:
    """Subscriber numbers per client process, dealt round-robin."""
    return [list(range(p, subscribers, processes)) for p in range(processes)]


def client_plans(port: int, bench: Bench, directory: Path) -> list[ClientPlan]:
    targets, sequences = bench.targets, bench.driver.sequences
    plans = []
    for index, numbers in enumerate(shares(bench.args.subscribers, bench.args.client_processes)):
        chosen = [targets[n % len(targets)].id for n in numbers]
        plans.append(
            ClientPlan(
                url=f"ws://{HOST}:{port}/graphql",
                api_key=bench.organization.api_key,
                subscriptions=[(str(id), sequences[id]) for id in chosen],
                per_socket=bench.args.subscriptions_per_socket,
                open_concurrency=bench.args.open_concurrency,
                open_deadline=bench.args.open_deadline,
                compression=None if bench.args.compression == "none" else bench.args.compression,
                directory=str(directory),
                index=index,
            )
        )
    return plans


async def start_client(plan: ClientPlan, env: dict[str, str]) -> ClientProcess:
    path = Path(plan.directory) / f"plan-{plan.index}.json"
    path.write_text(json.dumps(asdict(plan)))
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.subscriptions", "--client", str(path)],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    return ClientProcess(plan.index, process, plan)


@asynccontextmanager
async def client_processes(port: int, bench: Bench) -> AsyncIterator[ClientGroup]:
    """The client processes, each `ready`; stopped (SIGTERM, then SIGKILL) at the end."""
    env = child_environment(bench.args.redis_url)
    started: list[ClientProcess] = []
    with tempfile.TemporaryDirectory(prefix="dspex-bench-subscriptions-") as scratch:
        try:
            for plan in client_plans(port, bench, Path(scratch)):
                started.append(await start_client(plan, env))
            await asyncio.gather(*(c.expect("ready", STARTUP_SECONDS) for c in started))
            yield ClientGroup(started, bench.args.open_deadline)
        finally:
            await asyncio.gather(
                *(stop_process(c.process, f"client {c.index}", signal.SIGTERM) for c in started)
            )


# -- measurements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    wall: float
    server_cpu: float
    server_rss_kib: int | None
    clients_cpu: float
    bench_cpu: float
    """This process: the driver (and the coordination, which is idle while the window runs)."""
    backends: dict[str, dict[int, float]]
    """redis-server, and on PostgreSQL its processes: group -> pid -> CPU seconds."""
    machine_busy: float | None


class Probe:
    def __init__(
        self, server_pids: Sequence[int], client_pids: Sequence[int], database: BenchDatabase
    ) -> None:
        self._servers = list(server_pids)
        self._clients = list(client_pids)
        url = make_url(database.url)
        self._postgres = url.database if url.get_backend_name() == "postgresql" else None

    def sample(self) -> Sample:
        backends = server_cpu(self._postgres or "")
        if self._postgres is None:  # PostgreSQL's processes serve someone else then
            backends = {k: v for k, v in backends.items() if not k.startswith("postgres")}
        return Sample(
            wall=time.perf_counter(),
            server_cpu=sum(pid_cpu_seconds(pid) or 0.0 for pid in self._servers),
            server_rss_kib=total_rss_kib(self._servers),
            clients_cpu=sum(pid_cpu_seconds(pid) or 0.0 for pid in self._clients),
            bench_cpu=time.process_time(),
            backends=backends,
            machine_busy=busy_cpu_seconds(),
        )


def backend_cpu(start: Sample, stop: Sample) -> dict[str, float]:
    used: dict[str, float] = {}
    for group, pids in stop.backends.items():
        before = start.backends.get(group, {})
        used[group] = sum(now - before.get(pid, 0.0) for pid, now in pids.items())
    return used


def window(start: Sample, stop: Sample) -> dict[str, Any]:
    """CPUs each process kept busy between two samples (1.0 = one core all the time)."""
    wall = stop.wall - start.wall
    used = {
        "server": stop.server_cpu - start.server_cpu,
        "clients": stop.clients_cpu - start.clients_cpu,
        "bench_driver": stop.bench_cpu - start.bench_cpu,
    } | backend_cpu(start, stop)
    cpus = {name: round(seconds / wall, 3) for name, seconds in used.items()}
    found: dict[str, Any] = {"seconds": round(wall, 3), "cpus": cpus}
    if start.machine_busy is not None and stop.machine_busy is not None:
        busy = (stop.machine_busy - start.machine_busy) / wall
        found["machine_busy_cpus"] = round(busy, 3)
        found["other_processes_cpus"] = round(max(busy - sum(used.values()) / wall, 0.0), 3)
    return found


def merged_counts(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


def open_figures(
    opened: Sequence[dict[str, Any]], before: Sample, after: Sample, subscribers: int
) -> dict[str, Any]:
    count = sum(sum(o["per_execution"].values()) for o in opened)
    server_ms = (after.server_cpu - before.server_cpu) * 1000
    spent = window(before, after)
    return {
        "subscribers": subscribers,
        "opened": count,
        "failed": merged_counts(o["failures"] for o in opened),
        "seconds": spent["seconds"],
        "opened_per_second": round(count / spent["seconds"], 1),
        "server_cpu_ms_per_subscription": round(server_ms / count, 3) if count else None,
        "open_ms": summarize([ms for o in opened for ms in o["open_ms"]]),
        "cpu": spent,
    }


def idle_figures(before: Sample, opened: Sample, idle: Sample, count: int) -> dict[str, Any]:
    rss = {"before_open": before.server_rss_kib, "all_open": opened.server_rss_kib}
    rss["after_idle"] = idle.server_rss_kib
    per = None
    if count and before.server_rss_kib is not None and idle.server_rss_kib is not None:
        per = round((idle.server_rss_kib - before.server_rss_kib) / count, 2)
    return {"server_rss_kib": rss, "server_kib_per_subscription": per, "cpu": window(opened, idle)}


def expected_messages(opened: Sequence[dict[str, Any]], driven: Driven) -> int:
    published = {str(id): count for id, count in driven.published.items()}
    return sum(
        subscribers * published.get(execution, 0)
        for o in opened
        for execution, subscribers in o["per_execution"].items()
    )


def steady_figures(
    opened: Sequence[dict[str, Any]],
    driven: Driven,
    reports: Sequence[dict[str, Any]],
    start: Sample,
    stop: Sample,
) -> dict[str, Any]:
    expected = expected_messages(opened, driven)
    received = sum(r["received"] for r in reports)
    spent = window(start, stop)
    return {
        "seconds": spent["seconds"],
        "server_cpu_utilisation": spent["cpus"]["server"],
        "server_share_of_machine": round(spent["cpus"]["server"] / (os.cpu_count() or 1), 3),
        "server_rss_kib_at_end": stop.server_rss_kib,
        "latency_ms": summarize([ms for r in reports for ms in r["latencies_ms"]]),
        "messages_expected": expected,
        "messages_received": received,
        "messages_per_second": round(received / spent["seconds"], 1),
        "lost": expected - received,
        "snapshots": sum(r["snapshots"] for r in reports),
        "sequence_gaps": sum(r["gaps"] for r in reports),
        "out_of_order": sum(r["out_of_order"] for r in reports),
        "sockets_closed": merged_counts(r["closed"] for r in reports),
        "unexpected_messages": merged_counts(r["unexpected"] for r in reports),
        "client_drain_seconds": round(max(r["drain_seconds"] for r in reports), 3),
        "driver": driven.figures(),
        "cpu": spent,
    }


def targets_met(
    open_: dict[str, Any], idle: dict[str, Any], steady: dict[str, Any], subscribers: int
) -> dict[str, Any]:
    """Each of the issue's targets, checked against this run's figures; `at_target_scale` says
    whether this run had the subscribers the target is stated for."""
    p99 = steady["latency_ms"].get("p99")
    nothing_lost = steady["lost"] == 0 and not any(open_["failed"].values())
    share = steady["server_share_of_machine"]
    memory, cpu = idle["server_kib_per_subscription"], open_["server_cpu_ms_per_subscription"]
    return {
        "p99_le_250ms_server_le_half_machine": {
            "met": p99 is not None and p99 <= TARGETS["p99_ms_at_10000"] and share <= 0.5,
            "at_target_scale": subscribers >= 10_000,
        },
        "p99_le_1s_nothing_lost": {
            "met": p99 is not None and p99 <= TARGETS["p99_ms_at_20000"] and nothing_lost,
            "at_target_scale": subscribers >= 20_000,
        },
        "idle_memory_le_20kib": {
            "met": memory is not None and memory <= TARGETS["idle_kib_per_subscription"],
            "at_target_scale": subscribers >= 10_000,
        },
        "open_cpu_le_1ms": {
            "met": cpu is not None and cpu <= TARGETS["open_server_cpu_ms_per_subscription"],
            "at_target_scale": subscribers >= 10_000,
        },
        "judged_at_subscribers": subscribers,
    }


# -- a run ----------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    database: BenchDatabase
    organization: BenchOrganization
    targets: list[Target]
    driver: Driver


async def warm_up(port: int, bench: Bench) -> None:
    """One subscription opened, its snapshot read, and closed, by this process."""
    target = bench.targets[0]
    socket = SocketOfSubscriptions(
        {"1": Subscription(str(target.id), bench.driver.sequences[target.id])}
    )
    compression = None if bench.args.compression == "none" else bench.args.compression
    url = f"ws://{HOST}:{port}/graphql"
    async with asyncio.timeout(OPEN_ONE_TIMEOUT):
        await open_subscriptions(url, bench.organization.api_key, socket, compression, Tally())
    assert socket.websocket is not None
    await socket.websocket.close()


async def measure(kind: str, bench: Bench) -> dict[str, Any]:
    args = bench.args
    log(f"{kind}: {args.subscribers} subscribers from {args.client_processes} processes")
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            running_servers(
                kind,
                bench.database.url,
                args.redis_url,
                args.server_compression,
                args.server_processes,
            )
        )
        clients = await stack.enter_async_context(client_processes(server.port, bench))
        await warm_up(server.port, bench)
        await asyncio.sleep(WARM_UP_PAUSE)
        probe = Probe(server.pids, clients.pids, bench.database)
        before = probe.sample()
        opened = await clients.open()
        all_open = probe.sample()
        open_ = open_figures(opened, before, all_open, args.subscribers)
        log(f"  opened {open_['opened']} in {open_['seconds']}s, failed {open_['failed']}")
        await asyncio.sleep(args.idle_seconds)
        idle_end = probe.sample()
        server.start_gc_window()
        driven = await bench.driver.drive(args.seconds)
        window_end = probe.sample()
        server_gc = await server.gc_window()
        reports = await clients.report()
    idle = idle_figures(before, all_open, idle_end, open_["opened"])
    steady = steady_figures(opened, driven, reports, idle_end, window_end)
    steady["server_gc"] = server_gc
    steady["clients_gc_after_open"] = [r["gc"] for r in reports]
    log(f"  latency {steady['latency_ms']}, lost {steady['lost']}")
    met = targets_met(open_, idle, steady, args.subscribers)
    return {"open": open_, "idle": idle, "steady": steady, "target_met": met}


async def set_up(
    database: BenchDatabase,
    organization: BenchOrganization,
    engine: AsyncEngine,
    args: argparse.Namespace,
) -> list[Target]:
    """The program (through `createProgram` on a service started for that) and the executions."""
    async with running_servers("service", database.url, args.redis_url) as server:
        program_id = await create_bench_program(server.port, organization)
    targets = await insert_running_executions(engine, organization, program_id, args.executions)
    log(f"created a program and {len(targets)} RUNNING executions")
    return targets


async def main(args: argparse.Namespace) -> dict[str, Any]:
    limit = raise_open_files_limit()
    load_before = warn_if_busy()
    result: dict[str, Any] = {
        "benchmark": "subscriptions",
        "setup": setup_text(args),
        "versions": versions("websockets", "broadcaster", "redis"),
        "machine": machine() | {"load_average_1m_before": load_before, "open_files_limit": limit},
        "parameters": parameters(args),
        "targets": TARGETS | {"note": TARGETS_NOTE},
    }
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(bench_database(args.database_url))
        result["database"] = database.describe()
        organization = await create_bench_organization(database.url)
        engine = create_engine(DatabaseSettings(url=database.url))
        stack.push_async_callback(engine.dispose)
        targets = await set_up(database, organization, engine, args)
        hub = await stack.enter_async_context(Hub(args.redis_url))
        bench = Bench(args, database, organization, targets, Driver(engine, hub, targets))
        for kind in args.only:
            result[kind] = await measure(kind, bench)
    if "service" in result and "raw" in result:
        result["service_over_raw"] = comparison(result["service"], result["raw"])
    return result


def comparison(service: dict[str, Any], raw: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else round(a / b, 2)

    def pick(section: dict[str, Any], *path: str) -> float | None:
        value: Any = section
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, int | float) else None

    paths = {
        "open_server_cpu_ms_per_subscription": ("open", "server_cpu_ms_per_subscription"),
        "idle_kib_per_subscription": ("idle", "server_kib_per_subscription"),
        "steady_server_cpu": ("steady", "server_cpu_utilisation"),
        "latency_p50": ("steady", "latency_ms", "median"),
        "latency_p99": ("steady", "latency_ms", "p99"),
    }
    return {name: ratio(pick(service, *p), pick(raw, *p)) for name, p in paths.items()}


TARGETS_NOTE = (
    "each section's target_met checks these figures against that run; a target is stated for "
    "10,000 (or 20,000) subscribers at 1 event/s each, so a check counts only where "
    "at_target_scale is true; 'server <= 50 % of the machine' is the server process's CPU "
    "utilisation over the steady window divided by the machine's CPUs (a single process cannot "
    "exceed 1/cpus of it); 'nothing lost' also needs every subscription opened"
)


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "subscribers": args.subscribers,
        "executions": args.executions,
        "subscribers_per_execution": round(args.subscribers / args.executions, 2),
        "subscriptions_per_socket": args.subscriptions_per_socket,
        "sockets": -(-args.subscribers // args.subscriptions_per_socket),
        "events_per_second_per_execution": 1,
        "client_processes": args.client_processes,
        "open_concurrency_per_process": args.open_concurrency,
        "open_deadline_seconds": args.open_deadline,
        "idle_seconds": args.idle_seconds,
        "seconds": args.seconds,
        "compression": args.compression,
        "server_compression": args.server_compression,
        "server_processes": args.server_processes,
        "redis": args.redis_url,
        "servers": args.only,
    }


def setup_text(args: argparse.Namespace) -> str:
    return (
        f"{args.executions} executions inserted RUNNING (SQLAlchemy Core) under a lease of the "
        "bench's own, so no service process reclaims or runs them; one program made through "
        "createProgram; the driver (this process, loop "
        f"{event_loop_name()}) gives each execution one event a second, spread evenly: UPDATE "
        "sequence+1 and started_at=stamp (time.time() before the UPDATE), then ExecutionChanged "
        "published on event.channels() through the service's Hub on Redis; the subscription "
        "selects `executionUpdated(id) { id sequence startedAt }` and the stamp travels in "
        "startedAt because the service applies a non-terminal event's sequence/status/started_at "
        "to its snapshot without re-reading the row; "
        f"{args.subscribers} subscribers from {args.client_processes} client processes "
        "(websockets library, graphql-transport-ws, one subscription per socket, API key in "
        f"connection_init, compression {args.compression}, no client pings), round-robin over "
        "the executions; latency = client time.time() at the next minus the stamp (same clock), "
        "the snapshot excluded; servers one at a time, each "
        f"{args.server_processes} process(es) on one port (SO_REUSEPORT), uvicorn (auto loop, "
        "httptools, no access log, ws_max_size as `dspex-gql serve`); the service: its own "
        "websocket layer below ASGI (graphql/websocket_server.py), create_app with deployed "
        "defaults, DSPEX_BROADCAST_URL=Redis, rate limit raised but consulted; the raw baseline: "
        "uvicorn's websockets-sansio, a Starlette websocket route, graphql-transport-ws ack/"
        "pong/subscribe, a snapshot next with null fields, one broadcaster subscription per "
        "execution channel (the service's BackendConnection), each event forwarded to its sockets "
        "as a next of the same shape, no database, no GraphQL, no authentication; CPU and RSS "
        f"from /proc (1.0 = one core; the machine has {os.cpu_count()} CPUs); RLIMIT_NOFILE "
        "raised to the hard limit in every process"
    )


def csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="the event hub")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument(
        "--subscriptions-per-socket",
        type=int,
        default=1,
        help="operations multiplexed on one websocket (each its own execution)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="the steady window")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--open-concurrency", type=int, default=25, help="per client process")
    parser.add_argument(
        "--open-deadline", type=float, default=300.0, help="seconds; what is not open is failed"
    )
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="what the clients offer (deflate: as browsers do)",
    )
    parser.add_argument(
        "--server-compression",
        action="store_true",
        help="the servers accept it (DSPEX_SERVER_WS_COMPRESSION=true; the default is off)",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        help="processes per server, on one port (a process may open 20,000 files here)",
    )
    parser.add_argument("--only", type=csv, default=["service", "raw"], help="service,raw")
    hidden = argparse.SUPPRESS
    parser.add_argument("--serve", choices=("service", "raw"), help=hidden)
    parser.add_argument("--gc-stats", type=Path, help=hidden)
    parser.add_argument("--fd", type=int, help=hidden)
    parser.add_argument("--ready-file", type=Path, help=hidden)
    parser.add_argument("--client", type=Path, help=hidden)
    return parser


def check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    unknown = set(args.only) - {"service", "raw"}
    if unknown or not args.only:
        parser.error(f"--only takes service,raw; got {args.only}")
    if min(args.subscribers, args.executions, args.client_processes, args.open_concurrency) < 1:
        parser.error("--subscribers, --executions, --client-processes, --open-concurrency: >= 1")


def cli() -> None:
    arguments = parser()
    args = arguments.parse_args()
    if args.serve is not None:
        serve(
            args.serve,
            args.fd,
            args.database_url,
            args.redis_url,
            args.gc_stats,
            args.server_compression,
            args.ready_file,
        )
        return
    if args.client is not None:
        run(lambda: client(args.client))
        return
    check(args, arguments)
    try:
        emit(run(lambda: main(args)))
    except ServerFailed as error:
        raise SystemExit(f"bench.subscriptions: {error}") from None


if __name__ == "__main__":
    cli()

"""Run a benchmark server in its own process, and drive load at it from another one.

    async with running_server("service", database.url, organization.slug) as server:
        result = await load(server, request, concurrency=16, seconds=5)

The parent only starts and stops processes: while load runs, the 2 cores go to the server and to
the load generator.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from bench.common import CLOCK_TICKS, PROJECT_ROOT, busy_cpu_seconds, log
from bench.httpclient import HOST, wait_until_up
from bench.serve import Lifespan, uvicorn_config


@dataclass
class ServerProcess:
    kind: str
    process: asyncio.subprocess.Process
    port: int
    gc_path: Path

    def gc_reset(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def gc_request(self) -> None:
        self.gc_path.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR2)

    async def gc_figures(self) -> dict[str, Any] | None:
        """What the server wrote after `gc_request()`, None if it did not within 5 s."""
        for _ in range(500):
            if self.gc_path.exists():
                figures: dict[str, Any] = json.loads(self.gc_path.read_text())
                return figures
            await asyncio.sleep(0.01)
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (Linux /proc), else None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _environment(python_path: Path | None = None) -> dict[str, str]:
    """`python_path`: a `src` directory whose `dspex_gql` the server imports instead."""
    env = dict(os.environ)
    paths = [python_path, PROJECT_ROOT, env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in paths if path)
    return env


@asynccontextmanager
async def running_server(
    kind: str,
    database_url: str,
    organization: str,
    extra_arguments: Sequence[str] = (),
    gc_stats: bool = True,
    python_path: Path | None = None,
) -> AsyncIterator[ServerProcess]:
    """`organization`: the slug the raw baseline filters by (the service authenticates instead);
    `extra_arguments` go to `bench.serve` (`--memory-probe DIR`...); `python_path`: the `src`
    of another version of the service to serve (`paired.py`).

    The server's stdout goes to this process's stderr: stdout carries only the JSON result.
    """
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((HOST, 0))
    listening.listen(2048)
    port = listening.getsockname()[1]
    fd = listening.fileno()
    command = [sys.executable, "-m", "bench.serve", kind, "--fd", str(fd)]
    command += ["--database-url", database_url, "--organization", organization]
    scratch = tempfile.TemporaryDirectory(prefix="dspex-bench-gc-")
    gc_path = Path(scratch.name) / "gc.json"
    if gc_stats:  # it keeps every pause until the parent reads them: not for long runs
        command += ["--gc-stats", str(gc_path)]
    command += extra_arguments
    process = await asyncio.create_subprocess_exec(
        *command, pass_fds=(fd,), cwd=PROJECT_ROOT, env=_environment(python_path), stdout=sys.stderr
    )
    listening.close()
    server = ServerProcess(kind, process, port, gc_path)
    try:
        started = time.perf_counter()
        await wait_until_up(port)
        took = time.perf_counter() - started
        log(f"{kind} server up on port {port} (pid {process.pid}, {took:.1f}s)")
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
        scratch.cleanup()
        log(f"{kind} server stopped (exit code {process.returncode})")


async def load(
    server: ServerProcess,
    request: bytes,
    *,
    concurrency: int,
    seconds: float | None = None,
    requests: int | None = None,
    warmup_seconds: float = 0.0,
    warmup_requests: int = 0,
) -> dict[str, Any]:
    """Run `bench.loadgen` in its own process against the server; its JSON plus server CPU use."""
    with tempfile.NamedTemporaryFile(prefix="dspex-bench-request-", delete=False) as file:
        file.write(request)
    command = [sys.executable, "-m", "bench.loadgen", "--port", str(server.port)]
    command += ["--request-file", file.name, "--concurrency", str(concurrency)]
    if seconds is not None:
        command += ["--seconds", str(seconds), "--warmup-seconds", str(warmup_seconds)]
    if requests is not None:
        command += ["--requests", str(requests), "--warmup-requests", str(warmup_requests)]
    try:
        child = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, cwd=PROJECT_ROOT, env=_environment()
        )
        assert child.stdout is not None
        marks: dict[str, CPUSample] = {}
        lines: list[bytes] = []
        async for line in child.stdout:
            mark = line.strip().decode(errors="replace")
            if mark in ("START", "STOP"):
                marks[mark] = CPUSample.now(server)
                if mark == "START":
                    server.gc_reset()
                else:
                    server.gc_request()
            else:
                lines.append(line)
        await child.wait()
    finally:
        os.unlink(file.name)
    if child.returncode != 0:
        raise RuntimeError(f"load generator failed (exit code {child.returncode})")
    result: dict[str, Any] = json.loads(b"".join(lines))
    result.update(_cpu_use(marks["START"], marks["STOP"], result))
    result["server_gc"] = await server.gc_figures()
    return result


@dataclass(frozen=True)
class CPUSample:
    server: float | None
    machine: float | None
    wall: float

    @classmethod
    def now(cls, server: ServerProcess) -> CPUSample:
        return cls(server.cpu_seconds(), busy_cpu_seconds(), time.perf_counter())


def _cpu_use(start: CPUSample, stop: CPUSample, result: dict[str, Any]) -> dict[str, Any]:
    """Server CPU per request; how busy the machine was besides the server and load generator."""
    if start.server is None or stop.server is None:
        return {}
    wall, server_cpu = stop.wall - start.wall, stop.server - start.server
    found: dict[str, Any] = {"server_cpu_utilisation": round(server_cpu / wall, 3)}
    if result.get("completed"):
        found["server_cpu_ms_per_request"] = round(server_cpu / result["completed"] * 1000, 3)
    if start.machine is not None and stop.machine is not None:
        busy = (stop.machine - start.machine) / wall
        others = busy - server_cpu / wall - result.get("loadgen_cpu_utilisation", 0.0)
        found["machine_busy_cpus"] = round(busy, 3)
        found["other_processes_cpus"] = round(max(others, 0.0), 3)
    return found


@asynccontextmanager
async def serving(app: ASGIApp, lifespan: Lifespan = "on") -> AsyncIterator[int]:
    """uvicorn serving `app` as a task of the running loop; yields its port.

    `lifespan="off"` when the app's lifespan already runs (`app.router.lifespan_context(app)`).
    """
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind((HOST, 0))
    listening.listen(128)
    server = uvicorn.Server(uvicorn_config(app, lifespan))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listening.close()

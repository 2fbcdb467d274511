"""What logging costs per request: the same requests with logging off, as text and as JSON.

    python -m bench.logging_overhead [--database-url URL] [--requests 1000]   # ~30 s

One process and loop: the app served by uvicorn as a task (`log_config=None`, access log on, as
`dspex-gql serve` runs it), one keep-alive loopback connection (`bench.httpclient`), the log
handler of `observability.configure_logging` writing to a file (so that what is measured is the
formatting and the write, not a terminal). Two requests:
- `query`: `{ me { id } }`, one log line (uvicorn's access line);
- `execute`: `executeProgram(wait: true)` of a mock program (0 ms), three lines (the access line,
  the run's `started` and `finished completed`).
Each `--requests` times per mode, the modes taking turns request by request so the machine's
other load falls on all of them alike: `off` (`DSPEX_LOG_LEVEL=WARNING`: no line is formatted),
`text`, `json`. The baseline is `off`, in the same run.
`line_us`: one access-like line through `logging.getLogger("uvicorn.access").info(...)` alone,
in each mode (timeit, 20,000 lines, inside a request id's scope), to the same file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from bench.common import (
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    service_settings,
    summarize,
    versions,
)
from bench.httpclient import HOST, Connection, graphql_post
from dspex_gql.app import create_app
from dspex_gql.config import LogSettings
from dspex_gql.observability import configure_logging, request_scope

MODES = ("off", "text", "json")
ME = "{ me { id } }"
CREATE = """mutation { createProgram(input: {name: "bench", signatureSpec: "q -> a",
  initialize: true}) { ... on Program { id } } }"""
EXECUTE = """mutation($id: ID!) { executeProgram(input: {programId: $id, inputs: {q: "hi"},
  wait: true}) { ... on Execution { status } } }"""


def switch_to(mode: str, sink: Any) -> None:
    if mode == "off":
        configure_logging(LogSettings(format="text", level="WARNING"), sink)
    else:
        configure_logging(LogSettings(format=mode, level="INFO"), sink)


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[int]:
    """uvicorn as `dspex-gql serve` runs it (its lines through our handler, access log on)."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind((HOST, 0))
    listening.listen(128)
    config = uvicorn.Config(app, log_config=None, access_log=True, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)  # uvicorn has no start event to await
    try:
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listening.close()


async def measure(args: argparse.Namespace, sink_path: Path) -> dict[str, Any]:
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        app = create_app(service_settings(database.url))
        key = organization.api_key
        with sink_path.open("a") as sink:
            switch_to("off", sink)
            async with app.router.lifespan_context(app), serving(app) as port:
                connection = await Connection.open(port)
                try:
                    status, body = await connection.send(graphql_post(CREATE, {}, api_key=key))
                    program_id = _program_id(status, body)
                    requests = {
                        "query": graphql_post(ME, {}, api_key=key),
                        "execute": graphql_post(EXECUTE, {"id": program_id}, api_key=key),
                    }
                    samples = {name: await _alternate(connection, raw, args, sink)
                               for name, raw in requests.items()}  # fmt: skip
                finally:
                    await connection.close()
            switch_to("off", sink)
        return {"database": database.describe(), **samples}


def _program_id(status: int, body: bytes) -> str:
    assert status == 200, body
    program_id: str = json.loads(body)["data"]["createProgram"]["id"]
    return program_id


async def _alternate(
    connection: Connection, raw: bytes, args: argparse.Namespace, sink: Any
) -> dict[str, Any]:
    for _ in range(20):  # warm-up
        await connection.send(raw)
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for n in range(args.requests * len(MODES)):
        mode = MODES[n % len(MODES)]
        switch_to(mode, sink)
        started = time.perf_counter()
        status, body = await connection.send(raw)
        times[mode].append((time.perf_counter() - started) * 1000)
        assert status == 200, body
        assert b'"errors"' not in body, body
    summaries = {mode: summarize(values) for mode, values in times.items()}
    off = summaries["off"]["median"]
    for mode in ("text", "json"):
        summaries[mode]["median_overhead_us"] = round((summaries[mode]["median"] - off) * 1000, 1)
    return summaries


def line_costs(sink_path: Path, number: int = 20_000) -> dict[str, float]:
    access = logging.getLogger("uvicorn.access")
    costs = {}
    with sink_path.open("a") as sink, request_scope("5f0c9d6f4b7e4d1f9a3c2b1a0e9d8c7b"):
        for mode in MODES:
            switch_to(mode, sink)
            started = time.perf_counter()
            for _ in range(number):
                access.info(
                    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/graphql", "1.1", 200
                )
            costs[mode] = round((time.perf_counter() - started) / number * 1e6, 2)
        switch_to("off", sink)
    return costs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        sink = Path(directory) / "service.log"
        samples = await measure(args, sink)
        lines = sum(1 for _ in sink.open())
        log_bytes = sink.stat().st_size
        costs = line_costs(Path(directory) / "lines.log")
    logging.getLogger().handlers.clear()
    log(f"wrote {lines} lines")
    emit(
        {
            "benchmark": "logging_overhead",
            "line_us": costs,
            "request_ms": samples,
            "lines_written": lines,
            "bytes_written": log_bytes,
            "setup": "app served by uvicorn as a task of this loop (log_config=None, access log "
            "on), one keep-alive loopback connection, handler writing to a file; modes "
            "alternating request by request",
            "versions": versions(),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    run(main)

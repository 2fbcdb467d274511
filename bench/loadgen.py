"""Load generator process: N keep-alive connections replaying one request, as fast as answered.

    python -m bench.loadgen --port 8000 --request-file req.bin --concurrency 16 --seconds 5
    python -m bench.loadgen --port 8000 --request-file req.bin --concurrency 1 --requests 50

Prints `START` and `STOP` lines around the measured window (the parent samples the server's CPU
then), then one JSON line. A request counts when it starts inside the window; every response
must be 200 and byte-identical to the first one, else it is counted in `errors` /
`inconsistent_bodies`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import run, summarize
from bench.httpclient import Connection


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    inconsistent_bodies: int = 0
    first_body: bytes | None = None
    response_bytes: int = 0

    def record(self, status: int, body: bytes, elapsed: float) -> None:
        if status != 200:
            self.errors += 1
        elif self.first_body is None:
            self.first_body, self.response_bytes = body, len(body)
        elif body != self.first_body:
            self.inconsistent_bodies += 1
        self.latencies_ms.append(elapsed * 1000)


def _mark(name: str) -> None:
    sys.stdout.write(name + "\n")
    sys.stdout.flush()


async def _timed(connection: Connection, request: bytes) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    status, body = await connection.send(request)
    return status, body, time.perf_counter() - started


async def run_for(
    connections: list[Connection], request: bytes, seconds: float, warmup: float
) -> tuple[Tally, float]:
    """Requests started within `seconds` after `warmup`; the window ends when the last one does."""
    tally = Tally()
    now = time.perf_counter()
    window_start, window_end = now + warmup, now + warmup + seconds
    last_finished = window_start
    asyncio.get_running_loop().call_later(warmup, _mark, "START")

    async def worker(connection: Connection) -> None:
        nonlocal last_finished
        while (started := time.perf_counter()) < window_end:
            status, body, elapsed = await _timed(connection, request)
            if started >= window_start:
                tally.record(status, body, elapsed)
                last_finished = max(last_finished, started + elapsed)

    await asyncio.gather(*(worker(c) for c in connections))
    _mark("STOP")
    return tally, last_finished - window_start


async def run_count(
    connections: list[Connection], request: bytes, requests: int, warmup: int
) -> tuple[Tally, float]:
    for index in range(warmup):
        await connections[index % len(connections)].send(request)
    tally = Tally()
    remaining = requests

    async def worker(connection: Connection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status, body, elapsed = await _timed(connection, request)
            tally.record(status, body, elapsed)

    _mark("START")
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    _mark("STOP")
    return tally, elapsed


async def main_async(args: argparse.Namespace, request: bytes) -> dict[str, Any]:
    connections = [await Connection.open(args.port) for _ in range(args.concurrency)]
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    if args.requests is not None:
        tally, window = await run_count(connections, request, args.requests, args.warmup_requests)
    else:
        tally, window = await run_for(connections, request, args.seconds, args.warmup_seconds)
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    for connection in connections:
        await connection.close()
    return {
        "concurrency": args.concurrency,
        "window_seconds": round(window, 3),
        "completed": len(tally.latencies_ms),
        "errors": tally.errors,
        "inconsistent_bodies": tally.inconsistent_bodies,
        "requests_per_second": round(len(tally.latencies_ms) / window, 1),
        "latency_ms": summarize(tally.latencies_ms),
        "response_bytes": tally.response_bytes,
        "loadgen_cpu_utilisation": round(cpu / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request-file", required=True, help="raw HTTP request bytes")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--requests", type=int, help="this many requests instead of --seconds")
    parser.add_argument("--warmup-requests", type=int, default=0)
    args = parser.parse_args()
    request = Path(args.request_file).read_bytes()
    result = run(lambda: main_async(args, request))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

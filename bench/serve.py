"""Child process: one uvicorn server, the service or the raw baseline, on an inherited socket.

    python -m bench.serve service --fd 5 --database-url sqlite+aiosqlite:///... --organization bench

Started by `bench.servers.running_server`, which binds the listening socket itself (no port race)
and passes it down. uvicorn runs as `dspex-gql serve` does (loop and HTTP parser "auto": uvloop
and httptools when installed), but with access logs off for both servers.

The service authenticates every request from its `Authorization` header (the organization and
its API key exist before it starts), with the request budget raised (`common.BENCH_LIMITS`).
`--organization` is the slug the raw baseline filters by; the service does not use it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from bench.common import service_settings
from bench.gcstats import GCStats
from bench.memprobe import MemoryProbe
from bench.raw_app import create_raw_app
from dspex_gql.app import create_app
from dspex_gql.config import WEBSOCKET_PROTOCOL

Lifespan = Literal["auto", "on", "off"]


def service_app(database_url: str) -> FastAPI:
    return create_app(service_settings(database_url))


class Server(uvicorn.Server):
    """uvicorn's server, optionally recording GC pauses or memory use."""

    def __init__(
        self,
        config: uvicorn.Config,
        gc_stats: Path | None = None,
        memory_probe: MemoryProbe | None = None,
        ready_file: Path | None = None,
    ) -> None:
        """`ready_file`: created once the server accepts connections (several processes on one
        port: a request would not tell which of them answered)."""
        super().__init__(config)
        self.gc_stats = gc_stats
        self.memory_probe = memory_probe
        self.ready_file = ready_file

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.gc_stats is not None:
            GCStats(self.gc_stats).install(asyncio.get_running_loop())
        if self.memory_probe is not None:
            self.memory_probe.install()
        if self.ready_file is not None:
            self.ready_file.touch()


KEEP_ALIVE_SECONDS = 120
"""A bench's connection may idle while it times something else (a DAG run's layers take > 5 s,
uvicorn's default, on a slow machine): the server must not close it meanwhile."""


def uvicorn_config(app: ASGIApp, lifespan: Lifespan = "on") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        ws=WEBSOCKET_PROTOCOL,  # as `dspex-gql serve`: the GraphQL websockets below ASGI
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("service", "raw"))
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--organization", required=True, help="the raw baseline's tenant (slug)")
    parser.add_argument("--gc-stats", type=Path, help="record GC pauses (see bench/gcstats.py)")
    parser.add_argument("--memory-probe", type=Path, help="record memory (bench/memprobe.py)")
    parser.add_argument("--memory-every", type=float, default=30.0, help="seconds per sample")
    parser.add_argument("--memory-baseline-after", type=float, default=120.0)
    parser.add_argument("--tracemalloc-frames", type=int, default=0, help="0: no tracemalloc")
    args = parser.parse_args()
    probe = None
    if args.memory_probe is not None:
        probe = MemoryProbe(
            args.memory_probe,
            args.memory_every,
            args.memory_baseline_after,
            args.tracemalloc_frames,
        )
    if args.kind == "service":
        app: ASGIApp = service_app(args.database_url)
    else:
        app = create_raw_app(args.database_url, args.organization)
    listening = socket.socket(fileno=args.fd)
    # uvicorn re-raises the SIGINT it stopped on, after a clean shutdown
    with contextlib.suppress(KeyboardInterrupt):
        Server(uvicorn_config(app), args.gc_stats, probe).run(sockets=[listening])


if __name__ == "__main__":
    main()

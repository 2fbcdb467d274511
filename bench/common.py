"""What every benchmark shares: statistics, versions, JSON output, a throwaway database, and the
organization whose API key authenticates every request to the service.

async with bench_database(args.database_url) as database:   # migrated, dropped afterwards
    organization = await create_bench_organization(database.url)  # .slug, .id, .api_key
    ...
emit({"benchmark": "program_get", ...})                      # the one JSON object on stdout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from dspex_gql.accounts.admin import create_org
from dspex_gql.accounts.keys import parse_key
from dspex_gql.config import DatabaseSettings, LimitsSettings, Settings
from dspex_gql.db import migrations

T = TypeVar("T")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ORGANIZATION_NAME = "bench"
"""The organization created for each run (`create_org`, as `dspex-gql create-org` does)."""
ADMIN_EMAIL = "bench@example.com"

BENCH_LIMITS = LimitsSettings(requests_per_second=1e6, request_burst=1_000_000)
"""The per-actor request budget, raised so that it never refuses a benchmark request (the
default, 20 req/s with a burst of 60, is policy, not cost). The bucket is still consulted on every
request."""

AUTH_SETUP = (
    "every request to the service carries 'Authorization: Bearer <API key>' of the admin of an "
    "organization created for the run (create_org, as `dspex-gql create-org`), so the service "
    "authenticates each request (API key + owner lookup, one indexed query) as in production; "
    "the per-actor rate limit is raised to "
    f"{BENCH_LIMITS.requests_per_second:g} req/s, burst {BENCH_LIMITS.request_burst} "
    "(DSPEX_LIMITS_*; the default 20 req/s, burst 60, is policy, not cost) but still consulted; "
    "the raw baseline does NO authentication: it gets the same request bytes, header included, "
    "ignores the header, and filters by the organization it looked up by slug at start-up"
)

PACKAGES = (
    "dspex-gql",
    "sqlalchemy",
    "strawberry-graphql",
    "graphql-core",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "aiosqlite",
    "asyncpg",
)


def log(message: str) -> None:
    """Human progress, on stderr (stdout carries only the JSON result)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2, default=str))


def summarize(samples_ms: Sequence[float]) -> dict[str, Any]:
    """`{"count", "median", "p90", "p99", "mean", "min", "max"}` in milliseconds (nearest rank)."""
    if not samples_ms:
        return {"count": 0}
    ordered = sorted(samples_ms)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {
        "count": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p90": round(rank(0.90), 3),
        "p99": round(rank(0.99), 3),
        "mean": round(statistics.fmean(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


def versions(*more: str) -> dict[str, str]:
    """Python's and the installed versions of the usual packages, and of `more`."""
    found = {"python": platform.python_version()}
    for package in (*PACKAGES, *more):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "cpus": os.cpu_count()}


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="default: a fresh SQLite file in a temp dir; a postgresql+asyncpg:// URL names a "
        "server on which a throwaway database is created and dropped",
    )


# -- databases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    kind: str
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        shown = make_url(self.url).render_as_string(hide_password=True)
        return {"kind": self.kind, "url": shown, **self.info}


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@asynccontextmanager
async def bench_database(requested: str | None) -> AsyncIterator[BenchDatabase]:
    """A migrated database: a temp SQLite file, or a throwaway database on a PostgreSQL server."""
    if requested is None:
        with tempfile.TemporaryDirectory(prefix="dspex-bench-") as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            await migrations.upgrade(url)
            yield BenchDatabase(url, "sqlite", {"sqlite_version": sqlite3.sqlite_version})
        return
    if make_url(requested).get_backend_name() != "postgresql":
        await migrations.upgrade(requested)
        yield BenchDatabase(requested, "sqlite", {"sqlite_version": sqlite3.sqlite_version})
        return
    name = f"dspex_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_asyncpg_dsn(requested))
    try:
        server_version = str(await admin.fetchval("SHOW server_version"))
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(requested).set(database=name).render_as_string(hide_password=False)
    log(f"created throwaway PostgreSQL database {name}")
    try:
        await migrations.upgrade(url)
        yield BenchDatabase(url, "postgresql", {"server_version": server_version})
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(requested))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        log(f"dropped {name}")


def service_settings(database_url: str) -> Settings:
    """The service as deployed (default settings, `gc_freeze` included), with the benchmark's
    raised request budget; the database is already migrated."""
    return Settings(
        database=DatabaseSettings(url=database_url, migrate_on_start=False), limits=BENCH_LIMITS
    )


# -- the organization every request acts in -------------------------------------------------


@dataclass(frozen=True)
class BenchOrganization:
    id: uuid.UUID
    slug: str
    admin_id: uuid.UUID
    api_key: str
    """`dsx_<prefix>_<secret>`: the admin's API key, sent as `Authorization: Bearer <api_key>`."""

    @property
    def authorization(self) -> str:
        return f"Bearer {self.api_key}"

    def describe(self) -> dict[str, Any]:
        parts = parse_key(self.api_key)
        prefix = None if parts is None else parts.prefix
        return {"slug": self.slug, "id": str(self.id), "role": "ADMIN", "api_key_prefix": prefix}


async def create_bench_organization(database_url: str) -> BenchOrganization:
    """An organization, its admin and the admin's API key, as `dspex-gql create-org` makes them.

    Created before any server starts, so the service's first-start bootstrap finds credentials
    and creates (and prints) nothing.
    """
    created = await create_org(
        Settings(database=DatabaseSettings(url=database_url, migrate_on_start=False)),
        ORGANIZATION_NAME,
        ADMIN_EMAIL,
        admin_name="Bench admin",
    )
    if created.admin_key is None:
        raise RuntimeError("create_org returned no API key")
    log(f"created organization {created.organization.slug!r} and its admin's API key")
    return BenchOrganization(
        id=created.organization.id,
        slug=created.organization.slug,
        admin_id=created.admin.id,
        api_key=created.admin_key,
    )


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run on uvloop when installed, as uvicorn's default "auto" loop does in production."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


# -- machine load -------------------------------------------------------------------------------


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes of the machine have been busy since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def warn_if_busy() -> float | None:
    """The 1-minute load average; warns on stderr when other work may skew the figures."""
    load = load_average()
    if load is not None and load > 0.5:
        log(f"warning: load average {load} before the run: other processes may skew the figures")
    return load


class CPUWindow:
    """This process's CPU use, and the rest of the machine's, over a `with` block.

    with CPUWindow() as window:
        ...
    window.figures()  # {"process_cpu_utilisation": 0.93, "other_processes_cpus": 0.02}
    """

    def __enter__(self) -> CPUWindow:
        self._wall, self._process = time.perf_counter(), time.process_time()
        self._machine = busy_cpu_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.process = time.process_time() - self._process
        machine = busy_cpu_seconds()
        self.machine = None if machine is None or self._machine is None else machine - self._machine

    def figures(self) -> dict[str, float]:
        found = {"process_cpu_utilisation": round(self.process / self.wall, 3)}
        if self.machine is not None:
            others = (self.machine - self.process) / self.wall
            found["other_processes_cpus"] = round(max(others, 0.0), 3)
        return found

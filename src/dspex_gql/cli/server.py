"""`dspex-gql serve` and `dspex-gql worker`: the long-running processes."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from dspex_gql.cli.arguments import positive_int
from dspex_gql.config import DatabaseSettings, Settings


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the GraphQL service",
        description="Run the GraphQL service (HTTP and websockets) until SIGTERM or Ctrl-C.",
    )
    serve.add_argument("--host", help="bind address (DSPEX_SERVER_HOST, default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, help="port (DSPEX_SERVER_PORT, default 8000; 0: any free one)"
    )
    serve.add_argument("--no-migrate", action="store_true", help="don't apply migrations at start")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="with DSPEX_JOBS=procrastinate: serve the API only, run no jobs",
    )
    serve.set_defaults(command=_serve)

    worker = commands.add_parser(
        "worker",
        help="run queued runs (DSPEX_JOBS=procrastinate, PostgreSQL)",
        description="Take runs from the PostgreSQL job queue until SIGTERM or Ctrl-C.",
    )
    worker.add_argument(
        "--queues",
        type=_queues,
        help="comma-separated: executions,optimizations,dags (default: all three)",
    )
    worker.add_argument(
        "--concurrency", type=positive_int, help="runs at once per queue (default: from settings)"
    )
    worker.set_defaults(command=_worker)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from dspex_gql.app import create_app

    settings = Settings()
    server = settings.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    database = settings.database.model_copy(
        update={"migrate_on_start": False} if args.no_migrate else {}
    )
    embedded = settings.jobs_embedded_worker and not args.no_worker
    update = {"server": server, "database": database, "jobs_embedded_worker": embedded}
    settings = settings.model_copy(update=update)
    app = create_app(settings)
    asyncio.run(_database_answers(settings.database))
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        log_config=None,  # uvicorn's lines go through the one handler `configure_logging` set
        **server.uvicorn_options(),  # type: ignore[arg-type]
    )


def _worker(args: argparse.Namespace) -> None:
    from dspex_gql.app import run_worker

    settings = Settings()
    if settings.jobs != "procrastinate":
        raise ValueError("a worker takes queued runs: set DSPEX_JOBS=procrastinate (PostgreSQL)")
    asyncio.run(_database_answers(settings.database))
    asyncio.run(run_worker(settings, args.queues, args.concurrency))


async def _database_answers(database: DatabaseSettings) -> None:
    """Before starting: a database that does not answer is one line now, rather than the
    traceback of a failed start-up."""
    from sqlalchemy import text

    from dspex_gql.db.engine import create_engine

    engine = create_engine(database)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535, got {text!r}")
    return int(text)


def _queues(text: str) -> list[str]:
    from dspex_gql.jobs.queue import QUEUES

    known = sorted(set(QUEUES.values()))
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"queues are {', '.join(known)}; got {text!r}")
    return names

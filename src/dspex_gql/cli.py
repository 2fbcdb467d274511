"""`dspex-gql serve | worker | migrate | create-org | set-quota | export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dspex_gql.config import LogSettings, Settings
from dspex_gql.errors import DomainError
from dspex_gql.observability import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _run(args)
    except ValidationError as error:  # settings: one line per problem, without pydantic's frame
        problems = "; ".join(_problem(detail) for detail in error.errors())
        parser.exit(2, f"dspex-gql: error: {problems}\n")
    except (DomainError, ValueError) as error:
        parser.exit(2, f"dspex-gql: error: {error}\n")


def _problem(detail: Any) -> str:
    message = str(detail["msg"]).removeprefix("Value error, ")
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {message}" if where else message


def _run(args: argparse.Namespace) -> None:
    configure_logging(LogSettings())
    args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dspex-gql", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the GraphQL service")
    serve.add_argument("--host", help="bind address (DSPEX_SERVER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (DSPEX_SERVER_PORT, default 8000)")
    serve.add_argument("--no-migrate", action="store_true", help="don't apply migrations at start")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="with DSPEX_JOBS=procrastinate: serve the API only, run no jobs",
    )
    serve.set_defaults(command=_serve)

    worker = commands.add_parser(
        "worker", help="run queued runs (DSPEX_JOBS=procrastinate, PostgreSQL)"
    )
    worker.add_argument(
        "--queues",
        type=_queues,
        help="comma-separated: executions,optimizations,dags (default: all three)",
    )
    worker.add_argument(
        "--concurrency", type=_positive, help="runs at once per queue (default: from settings)"
    )
    worker.set_defaults(command=_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate.add_argument("--downgrade", action="store_true", help="go down to REVISION instead")
    migrate.set_defaults(command=_migrate)

    org = commands.add_parser("create-org", help="create an organization and its first admin")
    org.add_argument("name")
    org.add_argument("--admin-email", required=True)
    org.add_argument("--admin-name", default="Admin")
    org.add_argument("--compute-quota-seconds", type=float, help="default: unlimited")
    org.set_defaults(command=_create_org)

    quota = commands.add_parser("set-quota", help="set an organization's compute quota")
    quota.add_argument("slug")
    quota.add_argument("seconds", help="seconds of compute, or 'none' for unlimited")
    quota.set_defaults(command=_set_quota)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", type=Path, help="write to a file instead of stdout")
    export.set_defaults(command=_export_schema)
    return parser


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
    uvicorn.run(
        create_app(settings),
        host=server.host,
        port=server.port,
        log_config=None,  # uvicorn's lines go through the one handler `configure_logging` set
        ws_max_size=server.max_body_bytes,  # an over-limit frame is refused before it is buffered
    )


def _worker(args: argparse.Namespace) -> None:
    from dspex_gql.app import run_worker

    settings = Settings()
    if settings.jobs != "procrastinate":
        raise ValueError("a worker takes queued runs: set DSPEX_JOBS=procrastinate (PostgreSQL)")
    asyncio.run(run_worker(settings, args.queues, args.concurrency))


def _queues(text: str) -> list[str]:
    from dspex_gql.jobs.queue import QUEUES

    known = sorted(set(QUEUES.values()))
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"queues are {', '.join(known)}; got {text!r}")
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, got {text!r}")
    return value


def _migrate(args: argparse.Namespace) -> None:
    from dspex_gql.db import migrations

    url = Settings().database.url
    step = migrations.downgrade if args.downgrade else migrations.upgrade
    asyncio.run(step(url, args.revision))
    print(f"database at revision {asyncio.run(migrations.current_revision(url))}")


def _create_org(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    created = asyncio.run(
        admin.create_org(
            Settings(), args.name, args.admin_email, args.admin_name, args.compute_quota_seconds
        )
    )
    print(f"Organization: {created.organization.name} ({created.organization.slug})")
    print(f"Admin API key: {created.admin_key}")


def _set_quota(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    seconds = None if args.seconds.lower() == "none" else float(args.seconds)
    asyncio.run(admin.set_quota(Settings(), args.slug, seconds))
    print(f"Compute quota of {args.slug}: {'unlimited' if seconds is None else seconds}")


def _export_schema(args: argparse.Namespace) -> None:
    from dspex_gql.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl)

"""`dspex-gql migrate [REVISION | current | history] [--downgrade]`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from dspex_gql.config import Settings

SHOW = ("current", "history")


def add_commands(commands: Any) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations, or show where the database is",
        description=(
            "Bring the database (DSPEX_DATABASE_URL) to a revision, with a progress bar. "
            "Processes that migrate at the same time take turns: the first migrates, the others "
            "find the work done."
        ),
    )
    migrate.add_argument(
        "revision",
        nargs="?",
        metavar="REVISION|current|history",
        help=(
            "the revision to go to (default: head, the newest); `current`: print the database's "
            "revision; `history`: list every revision and which are applied"
        ),
    )
    migrate.add_argument(
        "--downgrade",
        action="store_true",
        help="go down to REVISION (required: e.g. `base` empties the database)",
    )
    migrate.set_defaults(command=_migrate)


def _migrate(args: argparse.Namespace) -> None:
    from dspex_gql.cli.progress import MigrationBar
    from dspex_gql.db import migrations

    if args.revision in SHOW:
        if args.downgrade:
            raise ValueError(f"`migrate {args.revision}` shows; it takes no --downgrade")
        url = Settings().database.url
        (_current if args.revision == "current" else _history)(url)
        return
    if args.downgrade and args.revision is None:
        raise ValueError(
            "migrate --downgrade needs the revision to go down to, e.g. `dspex-gql migrate 0009 "
            "--downgrade` (`dspex-gql migrate history` lists them; `base` empties the database)"
        )
    url = Settings().database.url
    step = migrations.downgrade if args.downgrade else migrations.upgrade
    with MigrationBar() as bar:
        asyncio.run(step(url, args.revision or "head", bar))
    _current(url)


def _current(url: str) -> None:
    from dspex_gql.db import migrations

    current, head = asyncio.run(migrations.current_revision(url)), migrations.head_revision()
    if current is None:
        print("database at revision None (empty: run `dspex-gql migrate`)")
    elif current == head:
        print(f"database at revision {current} (head)")
    else:
        print(f"database at revision {current} (head is {head}: run `dspex-gql migrate`)")


def _history(url: str) -> None:
    from dspex_gql.db import migrations

    for revision in asyncio.run(migrations.history(url)):
        mark = "x" if revision.applied else " "
        current = "  <- current" if revision.current else ""
        print(f"[{mark}] {revision.id}  {revision.description}{current}")

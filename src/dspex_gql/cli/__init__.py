"""dspex-gql: serve the GraphQL API, run workers, migrate the database, manage organizations and
API keys, and watch runs."""

from __future__ import annotations

import argparse

from dspex_gql import __version__
from dspex_gql.cli import accounts, database, export, runs, server
from dspex_gql.cli.arguments import Parser
from dspex_gql.cli.failures import failure_of

COMMAND_MODULES = (server, database, accounts, runs, export)


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _run(args)
    except KeyboardInterrupt:
        parser.exit(130)
    except Exception as error:  # one line, never a traceback; see `failures.py`
        status, message = failure_of(error)
        parser.exit(status, f"dspex-gql: error: {message}\n")


def _run(args: argparse.Namespace) -> None:
    from dspex_gql.config import LogSettings
    from dspex_gql.observability import configure_logging

    configure_logging(LogSettings())
    args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dspex-gql", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dspex-gql {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND", title="commands")
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    return parser

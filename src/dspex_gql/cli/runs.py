"""`dspex-gql runs watch ID`: follow an execution, optimization run or DAG run to its end.

It talks to a running server over GraphQL (a websocket, with an API key), as any client does:
ids are UUIDs shared by no two runs, so one query finds which kind of run the id is, and that
kind's subscription brings every change until the run has ended.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dspex_gql.config import read_secret_file
from dspex_gql.errors import NotFound

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

DEFAULT_URL = "http://127.0.0.1:8000"
KEY_VARIABLE = "DSPEX_CLI_API_KEY"
FAILED, CANCELLED = 3, 4
EXIT_STATUS = {"COMPLETED": 0, "SUCCESS": 0, "FAILED": FAILED, "CANCELLED": CANCELLED}
"""The ends of runs: executions and optimization runs complete, DAG runs succeed."""

WHICH_RUN = """
query WhichRun($id: ID!) {
  execution(id: $id) { id }
  optimizationRun(id: $id) { id }
  dagRun(id: $id) { id }
}
"""


@dataclass(frozen=True)
class Kind:
    name: str
    subscription: str
    done: str | None = None
    """The field that counts what is done, of `total`."""
    total: str | None = None


KINDS = {
    "execution": Kind(
        "execution",
        "subscription($id: ID!) { run: executionUpdated(id: $id) { status error } }",
    ),
    "optimizationRun": Kind(
        "optimization run",
        "subscription($id: ID!) { run: optimizationProgress(id: $id) "
        "{ status error iterationsCompleted maxIterations bestScore } }",
        done="iterationsCompleted",
        total="maxIterations",
    ),
    "dagRun": Kind(
        "DAG run",
        "subscription($id: ID!) { run: dagRunUpdated(id: $id) "
        "{ status error finishedNodes totalNodes failedNodes } }",
        done="finishedNodes",
        total="totalNodes",
    ),
}


def add_commands(commands: Any) -> None:
    runs = commands.add_parser(
        "runs",
        help="follow runs on a running server",
        description="Follow runs on a running server, over its GraphQL API.",
    )
    actions = runs.add_subparsers(required=True, metavar="ACTION", title="actions")
    watch = actions.add_parser(
        "watch",
        help="follow a run to its end with a progress bar",
        description=(
            "Follow an execution, optimization run or DAG run until it ends, with a progress "
            "bar on stderr and its final state on stdout. Exit status: 0 completed (SUCCESS for a "
            "DAG run), 3 failed, "
            "4 cancelled (1: the server could not be used, 2: a bad id or option)."
        ),
    )
    watch.add_argument("id", type=_run_id, help="the run's id")
    watch.add_argument(
        "--url",
        default=os.environ.get("DSPEX_CLI_URL", DEFAULT_URL),
        help=f"the server (DSPEX_CLI_URL, default {DEFAULT_URL})",
    )
    watch.add_argument(
        "--key",
        help="an API key of the run's organization (better: DSPEX_CLI_API_KEY or "
        "DSPEX_CLI_API_KEY_FILE, which other users' `ps` does not show)",
    )
    watch.set_defaults(command=_watch)


def _watch(args: argparse.Namespace) -> None:
    kind, run = asyncio.run(_follow(args.url, _api_key(args.key), str(args.id)))
    status = run["status"]
    summary = f"{kind.name} {args.id} {status}"
    if EXIT_STATUS.get(status) == 0:
        print(summary)
        return
    print(f"{summary}: {run.get('error') or 'no error recorded'}")
    sys.exit(EXIT_STATUS.get(status, FAILED))


async def _follow(url: str, key: str, id: str) -> tuple[Kind, dict[str, Any]]:
    from dspex_gql.cli.graphql_socket import GraphQLSocket
    from dspex_gql.cli.progress import progress_bar

    async with GraphQLSocket(url, key) as socket:
        found = await socket.one(WHICH_RUN, {"id": id})
        field = next((field for field, run in found.items() if run is not None), None)
        if field is None:
            raise NotFound("Run", id)
        kind = KINDS[field]
        with progress_bar() as bar:
            task = bar.add_task(f"{kind.name} {id[:8]}", total=None, status="")
            run: dict[str, Any] = {}
            async for data in socket.many(kind.subscription, {"id": id}):
                run = data["run"]
                _show(bar, task, kind, run)
        return kind, run


def _api_key(given: str | None) -> str:
    key, path = os.environ.get(KEY_VARIABLE), os.environ.get(f"{KEY_VARIABLE}_FILE")
    if given:
        return given
    if key and path:
        raise ValueError(f"{KEY_VARIABLE} and {KEY_VARIABLE}_FILE are both set: keep one")
    if path:
        key = read_secret_file(Path(path), f"{KEY_VARIABLE}_FILE")
    if not key:
        raise ValueError(f"runs watch needs an API key: {KEY_VARIABLE}(_FILE) or --key")
    return key


def _show(bar: Progress, task: TaskID, kind: Kind, run: dict[str, Any]) -> None:
    status = run["status"]
    if kind.done is None or kind.total is None:
        finished = status in EXIT_STATUS
        bar.update(task, total=1, completed=int(finished), status=status)
        return
    best = run.get("bestScore")
    failed = run.get("failedNodes")
    extra = f" best {best:.3g}" if best is not None else ""
    extra += f" {failed} failed" if failed else ""
    bar.update(task, total=run[kind.total], completed=run[kind.done], status=status + extra)


def _run_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a run's id is a UUID, got {text!r}") from None

"""What only reads and then inserts opens no transaction on PostgreSQL: a run's start
(`executeProgram`, `executeDag`) and `createDag` read outside one and write their rows in one
statement (`uow.inserting()`), two round trips fewer than BEGIN … COMMIT."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asyncpg.transaction import Transaction

from tests.dags.runs_support import active_dag, call, started
from tests.support.external_services import ON_POSTGRESQL
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient

SLOW = {"latency_ms": 60_000}
"""No run ends, so no write of its state comes while a request is watched."""


@contextmanager
def transactions_of_this_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The asyncpg transactions started by the current task (the requests of an in-process
    client run in it; runs, the reporter and the lease have tasks of their own)."""
    started_here: list[str] = []
    task = asyncio.current_task()
    start = Transaction.start

    async def noted(transaction: Transaction) -> Any:
        if asyncio.current_task() is task:
            started_here.append("BEGIN")
        return await start(transaction)

    with monkeypatch.context() as patched:
        patched.setattr(Transaction, "start", noted)
        yield started_here


@ON_POSTGRESQL
async def test_starting_runs_and_creating_a_dag_open_no_transaction(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = await create_program(client, configuration=SLOW)
    dag_id = await active_dag(client, [call("a", program["id"], {"question": "$context.q"})])

    with transactions_of_this_task(monkeypatch) as transactions:
        execution = await execute(client, program["id"])
        run_id = await started(client, dag_id, {"q": "Why?"})
        await active_dag(client, [call("b", program["id"], {"question": "$context.q"})])

    assert execution["status"] == "PENDING"
    assert run_id
    assert transactions == ["BEGIN"]  # activateDag's, an UPDATE: only that one

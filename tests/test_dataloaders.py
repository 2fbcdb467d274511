"""Nested fields of a list load in a fixed number of queries, however long the list is.

The queries a request runs are counted with a SQLAlchemy `before_cursor_execute` listener on the
app's engine. Only SELECTs are counted: transaction control (SQLite's `BEGIN`) is not a query, and
the write-behind progress reporter may still be writing an execution's last state in the
background while a list is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from dspex_gql.observability.tracing import statement_operation
from tests.support.factories import create_program, create_signature, execute
from tests.support.http_client import GraphQLClient

MAX_QUERIES = 10
BATCH = 10

PROGRAMS = """
query($first: Int!) {
  programs(first: $first) {
    totalCount
    nodes {
      id
      signature { id spec }
      stats { executionCount totalCost }
      owner { id }
      lastExecutedAt
      parent { id }
      children { id }
    }
  }
}
"""
EXECUTIONS = """
query($first: Int!) {
  executions(first: $first) {
    totalCount
    nodes { id program { id name signature { spec } } triggeredBy { id } }
  }
}
"""
CLONE = """mutation($id: ID!, $name: String!) {
  cloneProgram(id: $id, name: $name) { ... on Program { id } }
}"""


@contextmanager
def queries(app: FastAPI) -> Iterator[list[str]]:
    """The SELECT statements the app's engine runs inside the block."""
    engine = app.state.runtime.engine.sync_engine
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement_operation(statement) == "SELECT":
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def in_batches(calls: list[Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run API calls BATCH at a time: the service is async, and this keeps the pool happy."""
    done: list[dict[str, Any]] = []
    for start in range(0, len(calls), BATCH):
        done += await asyncio.gather(*calls[start : start + BATCH])
    return done


async def seed_programs(client: GraphQLClient, count: int) -> dict[str, str | None]:
    """`count` programs: half are originals spread over two signatures (one of them READY with
    two executions), half clones of those. Returns each program's parent id."""
    signatures = [
        await create_signature(client, spec="question -> answer"),
        await create_signature(client, spec="document -> summary: list[str]"),
    ]
    ready = await create_program(client)
    for _ in range(2):
        await execute(client, ready["id"], wait=True)
    drafts = await in_batches(
        [
            create_program(
                client,
                ready=False,
                signatureId=signatures[i % 2]["id"],
                signatureSpec=None,
            )
            for i in range(count // 2 - 1)
        ]
    )
    originals = [ready, *drafts]
    clones = await in_batches(
        [
            client.data(CLONE, id=original["id"], name=f"clone of {original['name']}")
            for original in originals
        ]
    )
    parents: dict[str, str | None] = {original["id"]: None for original in originals}
    for original, clone in zip(originals, clones, strict=True):
        parents[clone["cloneProgram"]["id"]] = original["id"]
    return parents


async def seed_executions(client: GraphQLClient, count: int) -> None:
    """`count` finished executions spread over five programs."""
    programs = [
        await create_program(client, signatureSpec=f"question -> answer_{i}") for i in range(5)
    ]
    finished = await in_batches(
        [execute(client, programs[i % 5]["id"], wait=True) for i in range(count)]
    )
    assert {execution["status"] for execution in finished} == {"COMPLETED"}


class TestProgramListQueries:
    async def test_nested_fields_of_100_programs_take_as_many_queries_as_of_10(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        await seed_programs(client, 10)
        with queries(app) as ten:
            small = (await client.data(PROGRAMS, first=100))["programs"]
        await seed_programs(client, 90)

        with queries(app) as hundred:
            large = (await client.data(PROGRAMS, first=100))["programs"]

        assert (small["totalCount"], len(small["nodes"])) == (10, 10)
        assert (large["totalCount"], len(large["nodes"])) == (100, 100)
        assert len(hundred) == len(ten), hundred
        assert len(hundred) <= MAX_QUERIES, hundred

    async def test_each_program_gets_its_own_nested_values(self, client: GraphQLClient) -> None:
        parents = await seed_programs(client, 20)

        nodes = (await client.data(PROGRAMS, first=100))["programs"]["nodes"]

        by_id = {node["id"]: node for node in nodes}
        assert set(by_id) == set(parents)
        for id, parent in parents.items():
            node = by_id[id]
            assert node["parent"] == (None if parent is None else {"id": parent})
            children = [child for child, of in parents.items() if of == id]
            assert [child["id"] for child in node["children"]] == children
            if parent is not None:
                assert node["signature"] == by_id[parent]["signature"]
        executed = [node for node in nodes if node["stats"]["executionCount"]]
        assert [node["stats"]["executionCount"] for node in executed] == [2]
        assert [node["id"] for node in nodes if node["lastExecutedAt"]] == [executed[0]["id"]]
        assert len({node["owner"]["id"] for node in nodes}) == 1
        assert {node["signature"]["spec"] for node in nodes} == {
            "question: str -> answer: str",
            "document: str -> summary: list[str]",
        }


class TestExecutionListQueries:
    async def test_nested_fields_of_100_executions_take_as_many_queries_as_of_10(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        await seed_executions(client, 10)
        with queries(app) as ten:
            small = (await client.data(EXECUTIONS, first=100))["executions"]
        await seed_executions(client, 90)

        with queries(app) as hundred:
            large = (await client.data(EXECUTIONS, first=100))["executions"]

        assert (small["totalCount"], len(small["nodes"])) == (10, 10)
        assert (large["totalCount"], len(large["nodes"])) == (100, 100)
        assert len(hundred) == len(ten), hundred
        assert len(hundred) <= MAX_QUERIES, hundred

    async def test_each_execution_gets_its_own_program(self, client: GraphQLClient) -> None:
        await seed_executions(client, 10)
        query = (
            "{ programs { nodes { id name signature { spec }"
            " executions { nodes { id program { id name signature { spec } } } } } } }"
        )

        programs = (await client.data(query))["programs"]["nodes"]

        assert len(programs) == 5
        for program in programs:
            expected = {key: program[key] for key in ("id", "name", "signature")}
            executions = program["executions"]["nodes"]
            assert len(executions) == 2
            assert all(execution["program"] == expected for execution in executions)

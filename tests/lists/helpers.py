"""What the modules of tests/lists/ share: list queries, how a client walks a list, and helpers
to compare what it gets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.support.factories import create_program, create_signature
from tests.support.http_client import GraphQLClient

Node = dict[str, Any]
OrderBy = list[tuple[str, str]]

MAX_PAGE_SIZE = 1000
SLOW = {"latency_ms": 60_000}  # executions of such a program stay PENDING or RUNNING


def list_query(field: str, type: str, node: str) -> str:
    return f"""
    query($filter: {type}Filter, $orderBy: [{type}Order!], $first: Int! = 50, $after: String) {{
      {field}(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
        totalCount
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {node} }} }}
        nodes {{ {node} }}
      }}
    }}"""


PROGRAMS = list_query("programs", "Program", "id name status createdAt updatedAt")
EXECUTIONS = list_query(
    "executions", "Execution", "id status createdAt completedAt durationMs program { id }"
)

# orderBy field -> the node field it sorts on
ORDER_FIELDS = {
    "NAME": "name",
    "CREATED_AT": "createdAt",
    "UPDATED_AT": "updatedAt",
    "COMPLETED_AT": "completedAt",
    "DURATION_MS": "durationMs",
}


@dataclass(frozen=True)
class Listing:
    """One list query of the API, and how a client walks it."""

    field: str
    query: str

    async def connection(self, client: GraphQLClient, **arguments: Any) -> dict[str, Any]:
        data = await client.data(self.query, **arguments)
        connection: dict[str, Any] = data[self.field]
        return connection

    async def everything(self, client: GraphQLClient, **arguments: Any) -> list[Node]:
        """The whole list in one page."""
        connection = await self.connection(client, first=MAX_PAGE_SIZE, **arguments)
        assert connection["pageInfo"]["hasNextPage"] is False
        assert connection["totalCount"] == len(connection["edges"])
        return [edge["node"] for edge in connection["edges"]]

    async def walk(self, client: GraphQLClient, size: int, **arguments: Any) -> list[Node]:
        """Every page of `size` in turn, following `endCursor`; checks each page's Relay shape."""
        seen: list[Node] = []
        after: str | None = None
        total: int | None = None
        while True:
            connection = await self.connection(client, first=size, after=after, **arguments)
            edges, info = connection["edges"], connection["pageInfo"]
            assert connection["nodes"] == [edge["node"] for edge in edges]
            assert info["hasPreviousPage"] is (after is not None)
            assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
            assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
            total = connection["totalCount"] if total is None else total
            assert connection["totalCount"] == total
            seen += [edge["node"] for edge in edges]
            if not info["hasNextPage"]:
                break
            assert len(edges) == size
            after = info["endCursor"]
        assert len(seen) == total
        assert len(set(ids(seen))) == total, "pages repeat rows"
        return seen


PROGRAM_LIST = Listing("programs", PROGRAMS)
EXECUTION_LIST = Listing("executions", EXECUTIONS)


def order_by(order: OrderBy) -> list[dict[str, str]]:
    return [{"field": field, "direction": direction} for field, direction in order]


def ids(nodes: list[Node]) -> list[str]:
    return [node["id"] for node in nodes]


def names(nodes: list[Node]) -> set[str]:
    return {node["name"] for node in nodes}


def sort_value(node: Node, field: str) -> Any:
    value = node[ORDER_FIELDS[field]]
    return (
        datetime.fromisoformat(value) if isinstance(value, str) and field.endswith("_AT") else value
    )


def sorted_like_the_api(nodes: list[Node], order: OrderBy) -> list[str]:
    """The documented order: each key in its direction with nulls last, then the id in the
    direction of the last key. Built from stable sorts, least significant key first."""
    last_descending = order[-1][1] == "DESC"
    ordered = sorted(nodes, key=lambda node: uuid.UUID(node["id"]), reverse=last_descending)
    for field, direction in reversed(order):
        descending = direction == "DESC"

        def key(node: Node, field: str = field, descending: bool = descending) -> tuple[Any, ...]:
            value = sort_value(node, field)
            if value is None:
                return (not descending,)  # with reverse=True, False sorts last
            return (descending, value)

        ordered.sort(key=key, reverse=descending)
    return ids(ordered)


def codes(found: list[dict[str, Any]]) -> list[str]:
    return [error["extensions"]["code"] for error in found]


def on(signature: Node) -> dict[str, Any]:
    """`create_program` arguments binding the program to an existing signature."""
    return {"signatureId": signature["id"], "signatureSpec": None}


async def create_programs(client: GraphQLClient, names: list[str]) -> list[Node]:
    """Draft programs, one after the other (so their createdAt differ)."""
    signature = await create_signature(client)
    return [await create_program(client, name=name, **on(signature), ready=False) for name in names]

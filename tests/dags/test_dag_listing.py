"""`dags`: filters, order and pages, as for every list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dags.helpers import change, create_dag, list_dags, node
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient


@pytest.fixture
async def dags(client: GraphQLClient) -> dict[str, str]:
    """Four DAGs by name: alpha (ACTIVE), beta (ARCHIVED, ORGANIZATION), gamma, delta (DRAFT)."""
    program = await create_program(client, ready=False)
    definition = {"nodes": [node("ask", program["id"], question="$context.question")]}
    ids = {}
    for name in ("alpha", "beta", "gamma", "delta"):
        visibility = "ORGANIZATION" if name == "beta" else "PRIVATE"
        dag = await create_dag(client, definition, name=name, visibility=visibility)
        ids[name] = dag["id"]
    await change(client, "activateDag", ids["alpha"])
    await change(client, "archiveDag", ids["beta"])
    return ids


async def names(client: GraphQLClient, **arguments: Any) -> list[str]:
    return [n["name"] for n in (await list_dags(client, **arguments))["nodes"]]


class TestListing:
    async def test_newest_first_by_default(
        self, client: GraphQLClient, dags: dict[str, str]
    ) -> None:
        assert await names(client) == ["delta", "gamma", "beta", "alpha"]

    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({"status": {"eq": "ACTIVE"}}, ["alpha"]),
            ({"status": {"in": ["DRAFT", "ARCHIVED"]}}, ["beta", "delta", "gamma"]),
            ({"visibility": {"eq": "ORGANIZATION"}}, ["beta"]),
            ({"name": {"startsWith": "GA"}}, ["gamma"]),
            (
                {"or": [{"name": {"eq": "alpha"}}, {"status": {"eq": "ARCHIVED"}}]},
                ["alpha", "beta"],
            ),
            ({"not": {"status": {"eq": "DRAFT"}}}, ["alpha", "beta"]),
        ],
    )
    async def test_filters(
        self,
        client: GraphQLClient,
        dags: dict[str, str],
        filter: dict[str, Any],
        expected: list[str],
    ) -> None:
        order = [{"field": "NAME"}]

        assert await names(client, filter=filter, orderBy=order) == expected
        assert (await list_dags(client, filter=filter))["totalCount"] == len(expected)

    async def test_ordered_by_name(self, client: GraphQLClient, dags: dict[str, str]) -> None:
        descending = [{"field": "NAME", "direction": "DESC"}]

        assert await names(client, orderBy=descending) == ["gamma", "delta", "beta", "alpha"]

    async def test_pages_follow_their_cursors(
        self, client: GraphQLClient, dags: dict[str, str]
    ) -> None:
        order = [{"field": "NAME"}]

        first = await list_dags(client, orderBy=order, first=3)
        rest = await list_dags(client, orderBy=order, first=3, after=first["pageInfo"]["endCursor"])

        assert [n["name"] for n in first["nodes"]] == ["alpha", "beta", "delta"]
        assert first["pageInfo"]["hasNextPage"] is True
        assert [n["name"] for n in rest["nodes"]] == ["gamma"]
        assert rest["pageInfo"]["hasNextPage"] is False
        assert first["totalCount"] == rest["totalCount"] == 4

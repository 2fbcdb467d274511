"""The list of spaces: filters, order and pages."""

from __future__ import annotations

from tests.support.factories import unique
from tests.support.http_client import GraphQLClient
from tests.variable_spaces.helpers import USE_CACHE, listed, space


class TestList:
    async def test_filter_order_and_pages(self, client: GraphQLClient) -> None:
        suffix = unique("")
        names = [f"{letter}{suffix}" for letter in ("gamma", "alpha", "delta", "beta")]
        for name in names:
            await space(client, [USE_CACHE], name=name)
        by_name = [{"field": "NAME"}]

        first = await listed(client, orderBy=by_name, first=3)
        rest = await listed(client, orderBy=by_name, first=3, after=first["pageInfo"]["endCursor"])
        found = await listed(client, filter={"name": {"eq": names[1]}})
        backwards = await listed(client, orderBy=[{"field": "NAME", "direction": "DESC"}])

        ordered = sorted(names)
        assert [node["name"] for node in first["nodes"]] == ordered[:3]
        assert [node["name"] for node in rest["nodes"]] == ordered[3:]
        assert (first["totalCount"], rest["totalCount"]) == (4, 4)
        assert first["pageInfo"]["hasNextPage"] is True
        assert rest["pageInfo"]["hasNextPage"] is False
        assert [node["name"] for node in found["nodes"]] == [names[1]]
        assert found["totalCount"] == 1
        assert [node["name"] for node in backwards["nodes"]] == ordered[::-1]

    async def test_filter_on_visibility(self, client: GraphQLClient) -> None:
        shared = await space(client, [USE_CACHE], visibility="ORGANIZATION")
        await space(client, [USE_CACHE])

        found = await listed(client, filter={"visibility": {"eq": "ORGANIZATION"}})

        assert [node["id"] for node in found["nodes"]] == [shared["id"]]

    async def test_newest_first_by_default(self, client: GraphQLClient) -> None:
        made = [(await space(client, [USE_CACHE]))["id"] for _ in range(3)]

        assert [node["id"] for node in (await listed(client))["nodes"]] == made[::-1]

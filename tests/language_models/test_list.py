"""The list of language models: filters, order and pages."""

from __future__ import annotations

from tests.language_models.helpers import language_model, listed
from tests.support.factories import unique
from tests.support.http_client import GraphQLClient


class TestList:
    async def test_filter_order_and_pages(self, client: GraphQLClient) -> None:
        suffix = unique("")
        names = [f"{letter}{suffix}" for letter in ("gamma", "alpha", "delta", "beta")]
        for name in names:
            await language_model(client, name=name)
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

    async def test_filter_and_order_on_the_model(self, client: GraphQLClient) -> None:
        mini = await language_model(client, model="openai/gpt-4o-mini")
        haiku = await language_model(client, model="anthropic/claude-3-5-haiku")
        llama = await language_model(client, model="ollama_chat/llama3")

        openai = await listed(client, filter={"model": {"startsWith": "OpenAI/"}})
        not_local = await listed(
            client,
            filter={"not": {"model": {"contains": "ollama"}}},
            orderBy=[{"field": "MODEL"}],
        )

        assert [node["id"] for node in openai["nodes"]] == [mini["id"]]
        assert [node["id"] for node in not_local["nodes"]] == [haiku["id"], mini["id"]]
        assert llama["id"] not in {node["id"] for node in not_local["nodes"]}

    async def test_filter_on_visibility_and_dates(self, client: GraphQLClient) -> None:
        shared = await language_model(client, visibility="ORGANIZATION")
        private = await language_model(client)

        found = await listed(client, filter={"visibility": {"eq": "ORGANIZATION"}})
        later = await listed(client, filter={"createdAt": {"gt": shared["createdAt"]}})
        either = await listed(
            client,
            filter={"or": [{"name": {"eq": shared["name"]}}, {"name": {"eq": private["name"]}}]},
            orderBy=[{"field": "CREATED_AT"}],
        )

        assert [node["id"] for node in found["nodes"]] == [shared["id"]]
        assert [node["id"] for node in later["nodes"]] == [private["id"]]
        assert [node["id"] for node in either["nodes"]] == [shared["id"], private["id"]]

    async def test_newest_first_by_default(self, client: GraphQLClient) -> None:
        made = [(await language_model(client))["id"] for _ in range(3)]

        assert [node["id"] for node in (await listed(client))["nodes"]] == made[::-1]

    async def test_a_bad_cursor_is_a_validation_error(self, client: GraphQLClient) -> None:
        await language_model(client)

        found = await client.errors('{ languageModels(after: "nope") { totalCount } }')

        assert [error["extensions"]["code"] for error in found] == ["VALIDATION_FAILED"]

"""Input that is refused: every problem at once, each under the field it is about."""

from __future__ import annotations

from typing import Any

import pytest

from tests.language_models.helpers import (
    UPDATE,
    Node,
    create,
    get_model,
    language_model,
    listed,
    problems,
    run,
    unchanged,
)
from tests.support.http_client import GraphQLClient


class TestCreateValidation:
    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"name": ""}, [("name", "required")]),
            ({"name": "   "}, [("name", "required")]),
            ({"name": "n" * 101}, [("name", "too_long")]),
            ({"model": ""}, [("model", "required")]),
            ({"model": "gpt-4o-mini"}, [("model", "invalid")]),
            ({"model": "openai/"}, [("model", "invalid")]),
            ({"model": "/gpt-4o"}, [("model", "invalid")]),
            ({"model": "openai/gpt 4o"}, [("model", "invalid")]),
            ({"model": "openai/" + "m" * 194}, [("model", "too_long")]),
            ({"baseUrl": "ftp://models.example.test"}, [("baseUrl", "invalid")]),
            ({"baseUrl": "localhost:8000/v1"}, [("baseUrl", "invalid")]),
            ({"baseUrl": "http://host:99999/v1"}, [("baseUrl", "invalid")]),
            ({"baseUrl": "http://exa mple.test"}, [("baseUrl", "invalid")]),
            ({"baseUrl": "https://user:pw@example.test/v1"}, [("baseUrl", "secret")]),
            ({"baseUrl": "https://example.test/" + "p" * 2000}, [("baseUrl", "too_long")]),
            ({"apiKey": ""}, [("apiKey", "required")]),
            ({"apiKey": "k" * 4097}, [("apiKey", "too_long")]),
            ({"defaults": [1, 2]}, [("defaults", "type")]),
            ({"defaults": "hot"}, [("defaults", "type")]),
            ({"defaults": {"x": "y" * 70_000}}, [("defaults", "too_large")]),
            ({"defaults": {"temperature": "hot"}}, [("defaults.temperature", "type")]),
            ({"defaults": {"temperature": True}}, [("defaults.temperature", "type")]),
            ({"defaults": {"temperature": 2.5}}, [("defaults.temperature", "out_of_range")]),
            ({"defaults": {"temperature": -0.1}}, [("defaults.temperature", "out_of_range")]),
            ({"defaults": {"max_tokens": 0}}, [("defaults.max_tokens", "out_of_range")]),
            ({"defaults": {"max_tokens": 12.5}}, [("defaults.max_tokens", "type")]),
            ({"defaults": {"max_tokens": "512"}}, [("defaults.max_tokens", "type")]),
            ({"defaults": {"api_key": "sk-1"}}, [("defaults.api_key", "reserved")]),
            ({"defaults": {"access_token": "t"}}, [("defaults.access_token", "secret")]),
            ({"defaults": {"model": "openai/x"}}, [("defaults.model", "reserved")]),
            ({"defaults": {"api_base": "http://x"}}, [("defaults.api_base", "reserved")]),
            ({"promptPricePerMillion": -1}, [("promptPricePerMillion", "out_of_range")]),
            ({"completionPricePerMillion": -0.01}, [("completionPricePerMillion", "out_of_range")]),
            ({"maxConcurrency": 0}, [("maxConcurrency", "out_of_range")]),
            ({"maxConcurrency": 1001}, [("maxConcurrency", "out_of_range")]),
            ({"requestsPerMinute": 0}, [("requestsPerMinute", "out_of_range")]),
            ({"requestsPerMinute": 1_000_001}, [("requestsPerMinute", "out_of_range")]),
        ],
    )
    async def test_refused(
        self, client: GraphQLClient, fields: dict[str, Any], expected: list[tuple[str, str]]
    ) -> None:
        result = await create(client, **fields)

        assert problems(result) == expected
        assert (await listed(client))["totalCount"] == 0

    async def test_the_edges_are_fine(self, client: GraphQLClient) -> None:
        edges: list[Node] = [
            {"name": "n" * 100, "maxConcurrency": 1, "requestsPerMinute": 1},
            {"maxConcurrency": 1000, "requestsPerMinute": 1_000_000},
            {"defaults": {"temperature": 0, "max_tokens": 1}, "promptPricePerMillion": 0},
            {"defaults": {"temperature": 2, "stop": ["\n"], "top_p": 1}},
            {"model": "openrouter/meta-llama/llama-3-8b", "baseUrl": "https://[::1]:8443/v1"},
        ]

        results = [await create(client, **fields) for fields in edges]

        assert [result["__typename"] for result in results] == ["LanguageModel"] * len(edges)

    async def test_every_problem_is_reported_at_once(self, client: GraphQLClient) -> None:
        result = await create(
            client,
            name="",
            model="gpt",
            baseUrl="nope",
            apiKey=" ",
            defaults={"temperature": "hot", "max_tokens": -1, "password": "x"},
            promptPricePerMillion=-1,
            completionPricePerMillion=-1,
            maxConcurrency=0,
            requestsPerMinute=0,
        )

        assert problems(result) == [
            ("name", "required"),
            ("model", "invalid"),
            ("baseUrl", "invalid"),
            ("apiKey", "required"),
            ("defaults.temperature", "type"),
            ("defaults.max_tokens", "out_of_range"),
            ("defaults.password", "secret"),
            ("promptPricePerMillion", "out_of_range"),
            ("completionPricePerMillion", "out_of_range"),
            ("maxConcurrency", "out_of_range"),
            ("requestsPerMinute", "out_of_range"),
        ]
        assert result["code"] == "VALIDATION_FAILED"

    async def test_messages_say_what_was_sent(self, client: GraphQLClient) -> None:
        result = await create(client, defaults={"temperature": "hot", "max_tokens": [1]})

        assert [error["message"] for error in result["fieldErrors"]] == [
            "must be a number from 0 to 2, not a string",
            "must be a positive integer, not a list",
        ]


class TestUpdateValidation:
    @pytest.mark.parametrize("field", ["name", "model", "defaults", "maxConcurrency", "visibility"])
    async def test_required_fields_cannot_be_null(self, client: GraphQLClient, field: str) -> None:
        created = await language_model(client)

        result = await run(client, UPDATE, id=created["id"], input={field: None})

        assert problems(result) == [(field, "required")]

    async def test_every_problem_at_once_and_nothing_changes(self, client: GraphQLClient) -> None:
        created = await language_model(client, apiKey="sk-old")

        result = await run(
            client,
            UPDATE,
            id=created["id"],
            input={"name": "ok", "model": "x", "apiKey": "", "defaults": {"temperature": 3}},
        )

        assert problems(result) == [
            ("model", "invalid"),
            ("apiKey", "required"),
            ("defaults.temperature", "out_of_range"),
        ]
        assert await get_model(client, created["id"]) == unchanged(created)

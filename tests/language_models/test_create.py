"""Creating a language model and reading it back."""

from __future__ import annotations

from fastapi import FastAPI

from tests.language_models.helpers import (
    API_KEY,
    Node,
    create,
    get_model,
    language_model,
    problems,
    stored_row,
    unchanged,
)
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


def fields(result: Node, expected: Node) -> Node:
    return {key: result.get(key) for key in expected}


EVERYTHING: Node = {
    "name": "fast",
    "model": "openai/gpt-4o-mini",
    "baseUrl": "http://127.0.0.1:8080/v1",
    "apiKey": API_KEY,
    "defaults": {"temperature": 0.2, "max_tokens": 512, "top_p": 0.9},
    "promptPricePerMillion": 0.15,
    "completionPricePerMillion": 0.6,
    "maxConcurrency": 4,
    "requestsPerMinute": 600,
    "visibility": "ORGANIZATION",
}


class TestCreate:
    async def test_every_field_comes_back_but_the_key(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        created = await language_model(client, **EVERYTHING)

        expected: Node = {key: value for key, value in EVERYTHING.items() if key != "apiKey"}
        assert fields(created, expected) == expected
        assert created["hasApiKey"] is True
        assert created["owner"] == {"id": tenant.admin_id}
        assert "apiKey" not in created
        assert await get_model(client, created["id"]) == unchanged(created)

    async def test_what_is_left_out_has_its_default(self, client: GraphQLClient) -> None:
        created = await language_model(client, name="  plain  ", model="ollama_chat/llama3")

        expected: Node = {
            "name": "plain",
            "model": "ollama_chat/llama3",
            "baseUrl": None,
            "hasApiKey": False,
            "defaults": {},
            "promptPricePerMillion": None,
            "completionPricePerMillion": None,
            "maxConcurrency": 8,
            "requestsPerMinute": None,
            "visibility": "PRIVATE",
        }
        assert fields(created, expected) == expected

    async def test_null_defaults_are_empty(self, client: GraphQLClient) -> None:
        created = await language_model(client, defaults=None, apiKey=None)

        assert (created["defaults"], created["hasApiKey"]) == ({}, False)

    async def test_the_key_is_stored_encrypted(self, app: FastAPI, client: GraphQLClient) -> None:
        created = await language_model(client, apiKey=API_KEY)

        row = await stored_row(app, created["id"])

        assert row.api_key_ciphertext is not None
        assert API_KEY not in row.api_key_ciphertext
        assert API_KEY not in str(vars(row))

    async def test_names_are_unique_in_the_organization(self, client: GraphQLClient) -> None:
        await language_model(client, name="fast")

        again = await create(client, name="fast", model="anthropic/claude-3-5-haiku")
        spaced = await create(client, name=" fast ")

        for refused in (again, spaced):
            assert refused["__typename"] == "ConflictError", refused
            assert refused["message"] == "A language model named 'fast' already exists"

    async def test_a_duplicate_name_with_bad_fields_reports_the_fields(
        self, client: GraphQLClient
    ) -> None:
        await language_model(client, name="fast")

        refused = await create(client, name="fast", model="gpt-4o")

        assert problems(refused) == [("model", "invalid")]

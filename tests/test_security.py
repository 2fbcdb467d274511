"""Hostile or broken requests: limits, masking, and nothing leaking to clients."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from functools import _lru_cache_wrapper
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from strawberry.extensions.validation_cache import _get_validate_cache

from dspex_gql.app import create_app
from dspex_gql.config import GraphQLSettings, Settings
from dspex_gql.db import migrations
from tests.support.app import make_settings
from tests.support.factories import create_signature
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant


def nested_parents(depth: int) -> str:
    selection = "id"
    for _ in range(depth):
        selection = f"parent {{ {selection} }}"
    return f"{{ programs {{ nodes {{ {selection} }} }} }}"


class TestQueryLimits:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        limits = GraphQLSettings(max_depth=8, max_aliases=5, max_tokens=300)
        return make_settings(database_url, graphql=limits)

    async def test_deep_queries_are_refused(self, client: GraphQLClient) -> None:
        allowed = await client.execute(nested_parents(4))
        refused = await client.errors(nested_parents(10))

        assert "errors" not in allowed
        assert "exceeds maximum operation depth" in refused[0]["message"]

    async def test_depth_through_fragments_counts_too(self, client: GraphQLClient) -> None:
        query = """query { programs { nodes { ...A } } }
            fragment A on Program { parent { ...B } }
            fragment B on Program { parent { ...C } }
            fragment C on Program { parent { parent { parent { parent { parent { id } } } } } }"""

        errors = await client.errors(query)

        assert "exceeds maximum operation depth" in errors[0]["message"]

    async def test_many_aliases_are_refused(self, client: GraphQLClient) -> None:
        aliases = " ".join(f"a{i}: programs {{ totalCount }}" for i in range(6))

        errors = await client.errors(f"{{ {aliases} }}")

        assert "aliases" in errors[0]["message"]

    async def test_huge_documents_are_refused(self, client: GraphQLClient) -> None:
        fields = " ".join(["totalCount"] * 400)

        errors = await client.errors(f"{{ programs {{ {fields} }} }}")

        assert "token" in errors[0]["message"].lower()

    async def test_cyclic_fragments_are_a_validation_error(self, client: GraphQLClient) -> None:
        query = """{ programs { nodes { ...A } } }
            fragment A on Program { parent { ...B } }
            fragment B on Program { parent { ...A } }"""

        errors = await client.errors(query)

        assert any("Cannot spread fragment" in error["message"] for error in errors)


class TestTransport:
    async def test_syntax_errors_say_where(self, client: GraphQLClient) -> None:
        errors = await client.errors("{ programs { nodes { id }")

        assert errors[0]["message"].startswith("Syntax Error")
        assert errors[0]["locations"]

    async def test_mutations_are_not_accepted_over_get(self, client: GraphQLClient) -> None:
        query = 'mutation { createSignature(input: {name: "x", spec: "a -> b"}) { __typename } }'

        response = await client.http.get("/graphql", params={"query": query})

        assert response.status_code in {400, 405}
        listed = await client.data("{ signatures { totalCount } }")
        assert listed["signatures"]["totalCount"] == 0

    async def test_oversized_bodies_are_refused(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        padding = "x" * settings.server.max_body_bytes

        response = await client.http.post(
            "/graphql", json={"query": "{ signatures { totalCount } }", "variables": {"p": padding}}
        )

        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_expected_query_errors_carry_a_code(self, client: GraphQLClient) -> None:
        errors = await client.errors('{ programs(after: "not-a-cursor") { totalCount } }')

        assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"
        assert errors[0]["extensions"]["fieldErrors"][0]["field"] == "after"


class TestUnexpectedErrors:
    """A real fault: the database loses a table under a running service."""

    @pytest.fixture
    async def broken(self, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, Path]]:
        path = tmp_path / "broken.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrations.upgrade(url)
        app = create_app(make_settings(url))
        async with app.router.lifespan_context(app):
            yield app, path

    async def test_are_masked_with_an_error_id_that_is_logged(
        self, broken: tuple[FastAPI, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = broken
        key = (await new_tenant(app)).admin_key
        async with GraphQLClient.for_app(app, key) as client:
            await create_signature(client)
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA foreign_keys=OFF")
                connection.execute("DROP TABLE signatures")
            with caplog.at_level(logging.ERROR, logger="dspex_gql.errors"):
                errors = await client.errors("{ signatures { nodes { id } } }")

        error = errors[0]
        assert error["message"] == f"Unexpected error (error id {error['extensions']['errorId']})"
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "signatures" not in error["message"].replace("error id", "")
        logged = [r for r in caplog.records if error["extensions"]["errorId"] in r.getMessage()]
        assert logged
        assert logged[0].exc_info is not None


class TestValidationIsCached:
    async def test_the_same_document_is_validated_once(self, client: GraphQLClient) -> None:
        """Validation costs milliseconds; a repeated document must come from the cache (the
        depth and alias rules must be the same classes every time for that to happen)."""
        cache = cast("_lru_cache_wrapper[Any]", _get_validate_cache(256))
        query = "{ signatures(first: 1) { totalCount } }"
        await client.data(query)
        before = cache.cache_info()

        await client.data(query)
        after = cache.cache_info()

        assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)

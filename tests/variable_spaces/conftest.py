"""Spaces made once per test class, for the classes of tests/variable_spaces/ whose tests only
read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dspex_gql.app import create_app
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant
from tests.variable_spaces.helpers import RAG, TOP_K_WHEN_DENSE, USE_CACHE, Shared, space


@pytest.fixture(scope="class")
async def shared(database_url: str) -> AsyncIterator[Shared]:
    """An app and organization of its own, for a class whose tests only read: its spaces are made
    once, not once per test."""
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        key = (await new_tenant(application)).admin_key
        async with GraphQLClient.for_app(application, key) as client:
            rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
            flag = await space(client, [USE_CACHE])
            yield Shared(client, rag["id"], flag["id"])

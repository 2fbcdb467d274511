"""Fixtures the modules of tests/lists/ share: an organization of its own for a class whose tests
only read, and programs named alike in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dspex_gql.app import create_app
from tests.lists.helpers import Node, create_programs
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant


@pytest.fixture(scope="class")
async def shared_client(database_url: str) -> AsyncIterator[GraphQLClient]:
    """A client of an app (and organization) of its own, for a test class whose tests only
    read: the class's data is made once, not once per test."""
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        key = (await new_tenant(application)).admin_key
        async with GraphQLClient.for_app(application, key) as client:
            yield client


@pytest.fixture(scope="class")
async def programs_with_ties(shared_client: GraphQLClient) -> list[Node]:
    """Seven programs, four named alike."""
    return await create_programs(
        shared_client, ["mike", "alpha", "mike", "zulu", "mike", "alpha", "mike"]
    )

"""The team the modules of tests/audit/ share: an organization of its own, with its admin, a user
and a viewer, once per test class."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dspex_gql.app import create_app
from tests.audit.helpers import Team
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant


@pytest.fixture(scope="class")
async def team(database_url: str) -> AsyncIterator[Team]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        tenant = await new_tenant(application)
        async with GraphQLClient.for_app(application, tenant.admin_key) as admin:
            yield Team(
                app=application,
                tenant=tenant,
                admin=admin,
                alice=await member(admin, "USER", "Alice"),
                vera=await member(admin, "VIEWER", "Vera"),
            )

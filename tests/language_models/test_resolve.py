"""`resolve_language_models`: what executions and optimizations call when a run starts."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.errors import Conflict
from dspex_gql.identity import Actor, Role
from dspex_gql.language_models.specs import resolve_language_models
from dspex_gql.runtime import Runtime
from dspex_gql.secrets_box import SecretBox
from tests.language_models.helpers import API_KEY, language_model
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant


async def resolved(
    app: FastAPI,
    organization_id: str,
    names: list[str],
    reader: Actor | None = None,
    secrets: SecretBox | None = None,
) -> dict[str, LanguageModelSpec]:
    runtime: Runtime = app.state.runtime
    organization = uuid.UUID(organization_id)
    async with runtime.uow.read() as tx:
        box = secrets or runtime.secrets
        return await resolve_language_models(tx.session, organization, names, box, reader)


class TestResolve:
    async def test_names_become_specs_and_unknown_names_are_left_out(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        fast = await language_model(client, name="fast", apiKey=API_KEY, maxConcurrency=2)
        await language_model(client, name="slow")

        specs = await resolved(app, tenant.organization_id, ["fast", "missing", "fast"])

        assert list(specs) == ["fast"]
        spec = specs["fast"]
        assert (spec.id, spec.name, spec.api_key, spec.max_concurrency) == (
            fast["id"],
            "fast",
            API_KEY,
            2,
        )
        assert await resolved(app, tenant.organization_id, []) == {}

    async def test_a_reader_gets_only_what_it_may_read(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        alice = await member(client, "USER")
        await language_model(client, name="admins", visibility="PRIVATE")
        await language_model(client, name="shared", visibility="ORGANIZATION")
        await language_model(alice.client, name="hers")
        reader = Actor(uuid.UUID(alice.id), uuid.UUID(tenant.organization_id), Role.USER)
        names = ["admins", "shared", "hers"]

        as_alice = await resolved(app, tenant.organization_id, names, reader)
        as_system = await resolved(app, tenant.organization_id, names)

        assert sorted(as_alice) == ["hers", "shared"]
        assert sorted(as_system) == ["admins", "hers", "shared"]

    async def test_nothing_of_another_organization(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        await language_model(client, name="fast")
        other = await new_tenant(app)

        assert await resolved(app, other.organization_id, ["fast"]) == {}

    async def test_a_key_that_cannot_be_decrypted_is_a_conflict(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        await language_model(client, name="fast", apiKey=API_KEY)
        await language_model(client, name="keyless")

        keyless = await resolved(app, tenant.organization_id, ["keyless"], secrets=SecretBox(None))
        with pytest.raises(Conflict, match="The API key of language model 'fast' cannot be read"):
            await resolved(app, tenant.organization_id, ["fast"], secrets=SecretBox(None))

        assert list(keyless) == ["keyless"]

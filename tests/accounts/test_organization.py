"""The actor's organization, and changing it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import FORBIDDEN, ORGANIZATION, kind, problems
from tests.support.factories import create_program, errors, execute
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant

UPDATE_ORGANIZATION = (
    "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) {"
    " __typename ... on Organization { id name slug settings }"
    f" {errors('ValidationError')} }} }}"
)


class TestOrganization:
    async def test_shows_the_actors_organization(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        viewer = await member(client, "VIEWER")

        organization = (await viewer.client.data(ORGANIZATION))["organization"]

        assert organization == {
            "id": tenant.organization_id,
            "name": organization["name"],
            "slug": tenant.slug,
            "settings": {},
            "computeQuotaSeconds": None,
            "computeUsedSeconds": 0.0,
            "totalExecutions": 0,
        }
        assert tenant.slug == organization["name"], "made from a slug-safe name"

    async def test_counts_its_executions_only(self, app: FastAPI, client: GraphQLClient) -> None:
        program = await create_program(client)
        for _ in range(2):
            assert (await execute(client, program["id"], wait=True))["status"] == "COMPLETED"
        other = await new_tenant(app)

        ours = (await client.data(ORGANIZATION))["organization"]
        theirs = (await client.acting_as(other.admin_key).data(ORGANIZATION))["organization"]

        assert ours["totalExecutions"] == 2
        assert ours["computeUsedSeconds"] >= 0
        assert theirs["totalExecutions"] == 0

    async def test_its_users_are_for_admins(self, client: GraphQLClient) -> None:
        someone = await member(client)
        query = "{ organization { users(first: 10) { totalCount nodes { id } } } }"

        listed = (await client.data(query))["organization"]["users"]
        refused = await someone.client.errors(query)

        assert listed["totalCount"] == 2
        assert someone.id in {node["id"] for node in listed["nodes"]}
        assert refused[0]["extensions"]["code"] == "FORBIDDEN"


class TestUpdateOrganization:
    async def test_an_admin_changes_name_and_settings(self, client: GraphQLClient) -> None:
        settings = {"defaultAdapter": "mock", "limits": {"max": 3}}

        updated = (
            await client.data(
                UPDATE_ORGANIZATION, input={"name": " Renamed ", "settings": settings}
            )
        )["updateOrganization"]
        organization = (await client.data(ORGANIZATION))["organization"]

        assert updated["__typename"] == "Organization"
        assert (organization["name"], organization["settings"]) == ("Renamed", settings)
        assert organization["slug"] == updated["slug"], "the slug stays"

    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_others_are_forbidden(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        result = (await someone.client.data(UPDATE_ORGANIZATION, input={"name": "Mine now"}))[
            "updateOrganization"
        ]

        assert kind(result) == FORBIDDEN
        assert (await client.data(ORGANIZATION))["organization"]["name"] != "Mine now"

    @pytest.mark.parametrize(
        ("given", "field"),
        [
            ({"settings": [1, 2]}, "settings"),
            ({"settings": "text"}, "settings"),
            ({"settings": 3}, "settings"),
            ({"settings": None}, "settings"),
            ({"name": "  "}, "name"),
            ({"name": None}, "name"),
        ],
    )
    async def test_bad_input_is_a_validation_error(
        self, client: GraphQLClient, given: dict[str, Any], field: str
    ) -> None:
        result = (await client.data(UPDATE_ORGANIZATION, input=given))["updateOrganization"]

        assert field in problems(result)
        assert (await client.data(ORGANIZATION))["organization"]["settings"] == {}

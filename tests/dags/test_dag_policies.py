"""Who may change a DAG: its owner and admins; viewers nothing; a PRIVATE one is missing for
the other users."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dags.helpers import (
    change,
    create_dag,
    get_dag,
    list_dags,
    new_dag,
    one_node,
    refused,
    update_dag,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import member


class TestWhoMayChange:
    async def test_viewers_cannot_create(self, client: GraphQLClient) -> None:
        viewer = await member(client, "VIEWER")

        result = await create_dag(viewer.client, await one_node(client))

        assert refused(result, "ForbiddenError", "Viewers cannot create DAGs")

    @pytest.mark.parametrize("mutation", ["activateDag", "archiveDag", "deleteDag", "updateDag"])
    async def test_only_the_owner_or_an_admin_changes_a_shared_dag(
        self, client: GraphQLClient, mutation: str
    ) -> None:
        alice, bob = await member(client), await member(client)
        viewer = await member(client, "VIEWER")
        dag = await new_dag(alice.client, visibility="ORGANIZATION")

        async def attempt(by: GraphQLClient) -> dict[str, Any]:
            if mutation == "updateDag":
                return await update_dag(by, dag["id"], description="changed")
            return await change(by, mutation, dag["id"])

        by_bob, by_viewer = await attempt(bob.client), await attempt(viewer.client)
        by_admin = await attempt(client)

        assert refused(by_bob, "ForbiddenError", "Only its owner or an admin can change this DAG")
        assert refused(by_viewer, "ForbiddenError", "Viewers cannot change DAG")
        assert by_admin["__typename"] == "Dag", by_admin

    async def test_a_private_dag_is_missing_for_other_users(self, client: GraphQLClient) -> None:
        alice, bob = await member(client), await member(client)
        dag = await new_dag(alice.client)

        result = await change(bob.client, "archiveDag", dag["id"])

        assert await get_dag(bob.client, dag["id"]) is None
        assert (result["__typename"], result["id"]) == ("NotFoundError", dag["id"])
        assert (await list_dags(bob.client))["totalCount"] == 0
        assert (await get_dag(alice.client, dag["id"]) or {})["status"] == "DRAFT"

"""Who may see and change a language model, in its organization and from another."""

from __future__ import annotations

from fastapi import FastAPI

from tests.language_models.helpers import (
    DELETE,
    TEST,
    UPDATE,
    create,
    get_model,
    language_model,
    listed,
    run,
    unchanged,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant


async def visible(client: GraphQLClient, id: str) -> bool:
    return await get_model(client, id) is not None


class TestPolicies:
    async def test_viewers_cannot_create(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")

        result = await create(vera.client)

        assert result["__typename"] == "ForbiddenError", result
        assert result["message"] == "Viewers cannot create language models"
        assert (await listed(client))["totalCount"] == 0

    async def test_viewers_read_but_cannot_change_or_test(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")
        shared = await language_model(client, visibility="ORGANIZATION", apiKey="sk-1")
        id = shared["id"]

        assert await get_model(vera.client, id) == unchanged(shared)
        for result in (
            await run(vera.client, UPDATE, id=id, input={"name": "mine"}),
            await run(vera.client, DELETE, id=id),
            await run(vera.client, TEST, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
        assert await get_model(client, id) == unchanged(shared)

    async def test_users_create_change_and_delete_their_own(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")

        created = await language_model(alice.client, apiKey="sk-alice")
        renamed = await run(alice.client, UPDATE, id=created["id"], input={"name": "alice's"})
        deleted = await run(alice.client, DELETE, id=created["id"])

        assert created["owner"] == {"id": alice.id}
        assert renamed["name"] == "alice's"
        assert deleted["__typename"] == "LanguageModel"

    async def test_users_cannot_change_an_admins_model(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        shared = await language_model(client, visibility="ORGANIZATION")
        id = shared["id"]

        for result in (
            await run(alice.client, UPDATE, id=id, input={"name": "mine"}),
            await run(alice.client, UPDATE, id=id, input={"apiKey": None}),
            await run(alice.client, DELETE, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
            assert "owner" in result["message"]
        assert await get_model(client, id) == unchanged(shared)

    async def test_admins_change_a_users_model(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        hers = await language_model(alice.client)

        result = await run(client, UPDATE, id=hers["id"], input={"name": "tidied"})

        assert result["name"] == "tidied"

    async def test_private_models_of_others_look_missing(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        bob = await member(client, "USER")
        bobs_private = await language_model(bob.client)
        bobs_shared = await language_model(bob.client, visibility="ORGANIZATION")
        admins_private = await language_model(client)
        alices = await language_model(alice.client)

        seen_by_alice = {node["id"] for node in (await listed(alice.client))["nodes"]}
        seen_by_admin = {node["id"] for node in (await listed(client))["nodes"]}

        assert seen_by_alice == {bobs_shared["id"], alices["id"]}
        assert seen_by_admin == {
            bobs_private["id"],
            bobs_shared["id"],
            admins_private["id"],
            alices["id"],
        }
        for hidden in (bobs_private, admins_private):
            id = hidden["id"]
            assert not await visible(alice.client, id)
            for result in (
                await run(alice.client, UPDATE, id=id, input={"name": "x"}),
                await run(alice.client, DELETE, id=id),
                await run(alice.client, TEST, id=id),
            ):
                assert (result["__typename"], result["id"]) == ("NotFoundError", id)
        assert await visible(client, bobs_private["id"])

    async def test_a_hidden_name_is_still_taken(self, client: GraphQLClient) -> None:
        """Programs name models: two of one name in an organization would be ambiguous."""
        alice = await member(client, "USER")
        await language_model(client, name="admins-only")

        result = await create(alice.client, name="admins-only")

        assert result["__typename"] == "ConflictError", result


class TestOtherOrganizations:
    async def test_another_organizations_model_is_missing(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        theirs = await language_model(client, name="shared-name", visibility="ORGANIZATION")
        id = theirs["id"]
        stranger = client.acting_as((await new_tenant(app)).admin_key)

        assert not await visible(stranger, id)
        assert (await listed(stranger))["totalCount"] == 0
        for result in (
            await run(stranger, UPDATE, id=id, input={"name": "mine"}),
            await run(stranger, DELETE, id=id),
            await run(stranger, TEST, id=id),
        ):
            assert (result["__typename"], result["id"]) == ("NotFoundError", id)
        assert await get_model(client, id) == unchanged(theirs)

    async def test_the_same_name_in_another_organization_is_fine(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        stranger = client.acting_as((await new_tenant(app)).admin_key)
        mine = await language_model(client, name="fast")

        theirs = await language_model(stranger, name="fast")

        assert theirs["id"] != mine["id"]

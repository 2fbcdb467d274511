"""Who may see and change a space, in its organization and from another."""

from __future__ import annotations

from fastapi import FastAPI

from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant
from tests.variable_spaces.helpers import (
    ADD,
    DELETE,
    GENERATE,
    REMOVE,
    SMALL,
    UPDATE,
    UPDATE_PROGRAM,
    USE_CACHE,
    VALIDATE,
    check,
    create,
    generated,
    get_space,
    listed,
    new_program,
    run,
    space,
    space_count,
    space_programs,
    unchanged,
)


async def visible(client: GraphQLClient, id: str) -> bool:
    return await get_space(client, id) is not None


class TestPolicies:
    async def test_viewers_cannot_create(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")

        result = await create(vera.client, [USE_CACHE])

        assert result["__typename"] == "ForbiddenError", result
        assert await space_count(client) == 0

    async def test_viewers_read_but_cannot_change(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")
        shared = await space(client, SMALL, visibility="ORGANIZATION")
        id = shared["id"]

        assert await visible(vera.client, id)
        assert (await check(vera.client, id, {"temperature": 0.1}))["valid"] is True
        assert len(await generated(vera.client, id, "RANDOM", 2, seed=1)) == 2
        for result in (
            await run(vera.client, UPDATE, id=id, input={"name": "mine"}),
            await run(vera.client, ADD, id=id, variable=USE_CACHE),
            await run(vera.client, REMOVE, id=id, name="retriever"),
            await run(vera.client, DELETE, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
        assert await get_space(client, id) == unchanged(shared)

    async def test_users_create_and_change_their_own(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")

        created = await space(alice.client, SMALL)
        renamed = await run(alice.client, UPDATE, id=created["id"], input={"name": "alice's"})
        added = await run(alice.client, ADD, id=created["id"], variable=USE_CACHE)
        deleted = await run(alice.client, DELETE, id=created["id"])

        assert created["owner"] == {"id": alice.id}
        assert renamed["name"] == "alice's"
        assert added["variableCount"] == 3
        assert deleted["__typename"] == "VariableSpace"

    async def test_users_cannot_change_an_admins_space(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        shared = await space(client, SMALL, visibility="ORGANIZATION")
        id = shared["id"]

        for result in (
            await run(alice.client, UPDATE, id=id, input={"name": "mine"}),
            await run(alice.client, ADD, id=id, variable=USE_CACHE),
            await run(alice.client, REMOVE, id=id, name="retriever"),
            await run(alice.client, DELETE, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
            assert "owner" in result["message"]
        assert await get_space(client, id) == unchanged(shared)

    async def test_admins_change_a_users_space(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        hers = await space(alice.client, SMALL)

        result = await run(client, UPDATE, id=hers["id"], input={"name": "tidied"})

        assert result["name"] == "tidied"

    async def test_private_spaces_of_others_look_missing(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        bob = await member(client, "USER")
        bobs_private = await space(bob.client, SMALL)
        bobs_shared = await space(bob.client, SMALL, visibility="ORGANIZATION")
        admins_private = await space(client, SMALL)
        alices = await space(alice.client, SMALL)

        seen_by_alice = {node["id"] for node in (await listed(alice.client))["nodes"]}
        seen_by_admin = {node["id"] for node in (await listed(client))["nodes"]}

        assert seen_by_alice == {bobs_shared["id"], alices["id"]}
        assert (await listed(alice.client))["totalCount"] == 2
        assert seen_by_admin == {
            bobs_private["id"],
            bobs_shared["id"],
            admins_private["id"],
            alices["id"],
        }
        for hidden in (bobs_private, admins_private):
            id = hidden["id"]
            assert not await visible(alice.client, id)
            renamed = await run(alice.client, UPDATE, id=id, input={"name": "x"})
            used = await new_program(alice.client, variableSpaceId=id)
            assert (renamed["__typename"], used["__typename"]) == ("NotFoundError",) * 2
            found = await alice.client.errors(VALIDATE, id=id, configuration={})
            assert [error["extensions"]["code"] for error in found] == ["NOT_FOUND"]
        assert await visible(alice.client, bobs_shared["id"])
        assert await visible(client, bobs_private["id"])


class TestOtherOrganizations:
    async def test_another_organizations_space_is_missing(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        theirs = await space(client, SMALL, visibility="ORGANIZATION")
        id = theirs["id"]
        stranger = client.acting_as((await new_tenant(app)).admin_key)

        assert await get_space(stranger, id) is None
        assert (await listed(stranger))["totalCount"] == 0
        for result in (
            await run(stranger, UPDATE, id=id, input={"name": "x"}),
            await run(stranger, ADD, id=id, variable=USE_CACHE),
            await run(stranger, REMOVE, id=id, name="retriever"),
            await run(stranger, DELETE, id=id),
            await new_program(stranger, variableSpaceId=id),
        ):
            assert (result["__typename"], result["id"]) == ("NotFoundError", id), result
        for query, arguments in (
            (GENERATE, {"strategy": "RANDOM", "count": 1}),
            (VALIDATE, {"configuration": {}}),
        ):
            found = await stranger.errors(query, id=id, **arguments)
            assert [error["extensions"]["code"] for error in found] == ["NOT_FOUND"]
        assert await get_space(client, id) == unchanged(theirs)

    async def test_another_organizations_program_cannot_use_it(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        theirs = await space(client, SMALL, visibility="ORGANIZATION")
        stranger = client.acting_as((await new_tenant(app)).admin_key)
        program = await new_program(stranger)

        result = await run(
            stranger, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": theirs["id"]}
        )

        assert result["__typename"] == "NotFoundError", result
        assert await space_programs(client, theirs["id"]) == (0, 0)

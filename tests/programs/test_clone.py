"""Cloning a program."""

from __future__ import annotations

import uuid

import pytest

from tests.programs.helpers import (
    UPDATE_METRICS,
    field_codes,
    get_program,
    inventory,
    mutation,
    run,
    update,
)
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient

CLONE = mutation(
    "($id: ID!, $name: String!)",
    "cloneProgram(id: $id, name: $name)",
    "ValidationError",
    "NotFoundError",
)


class TestClone:
    async def test_a_draft_child_with_the_original_as_parent(self, client: GraphQLClient) -> None:
        original = await create_program(
            client,
            type="CUSTOM",
            implementation="majority_vote",
            description="votes",
            configuration={"samples": 5, "temperature": 0.3},
            tags=["qa"],
            visibility="ORGANIZATION",
        )
        await run(client, UPDATE_METRICS, id=original["id"], metrics={"accuracy": 0.9})

        clone = await run(client, CLONE, id=original["id"], name="  copy  ")
        parent = await get_program(client, original["id"]) or {}

        assert clone["id"] != original["id"]
        assert (clone["name"], clone["status"], clone["version"]) == ("copy", "DRAFT", 1)
        assert clone["parent"] == {"id": original["id"]}
        assert parent["children"] == [{"id": clone["id"]}]
        assert parent["status"] == "READY"
        copied = ("type", "implementation", "adapter", "description", "configuration", "tags")
        for field in (*copied, "visibility", "signature"):
            assert clone[field] == original[field], field
        assert clone["performanceMetrics"] == {}
        assert clone["children"] == []
        assert clone["owner"] == original["owner"]

    async def test_the_clone_changes_independently(self, client: GraphQLClient) -> None:
        original = await create_program(client, configuration={"temperature": 0.3})
        clone = await run(client, CLONE, id=original["id"], name="copy")

        await update(client, clone["id"], configuration={"temperature": 0.9}, tags=["x"])

        assert await get_program(client, original["id"]) == original | {
            "children": [{"id": clone["id"]}]
        }

    async def test_children_are_listed_in_creation_order(self, client: GraphQLClient) -> None:
        original = await create_program(client)
        first = await run(client, CLONE, id=original["id"], name="first")
        second = await run(client, CLONE, id=original["id"], name="second")
        grandchild = await run(client, CLONE, id=first["id"], name="grandchild")

        parent = await get_program(client, original["id"]) or {}
        child = await get_program(client, first["id"]) or {}

        assert parent["children"] == [{"id": first["id"]}, {"id": second["id"]}]
        assert child["children"] == [{"id": grandchild["id"]}]
        assert grandchild["parent"] == {"id": first["id"]}

    @pytest.mark.parametrize(
        ("name", "code"), [("", "required"), (" ", "required"), ("n" * 201, "too_long")]
    )
    async def test_a_bad_name_is_refused(self, client: GraphQLClient, name: str, code: str) -> None:
        original = await create_program(client)
        before = await inventory(client)

        result = await run(client, CLONE, id=original["id"], name=name)

        assert field_codes(result) == {"name": code}
        assert await inventory(client) == before
        assert await get_program(client, original["id"]) == original

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await run(client, CLONE, id=id, name="copy")

        assert result["__typename"] == "NotFoundError"
        assert (result["id"], result["message"]) == (id, "Program not found")
        assert (await inventory(client))["programs"]["totalCount"] == 0

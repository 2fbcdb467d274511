"""Archiving a program."""

from __future__ import annotations

import uuid

import pytest

from tests.programs.helpers import STATS_QUERY, archive, get_program, listed_ids
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient


class TestArchive:
    async def test_archived_programs_are_hidden_unless_asked_for_by_status(
        self, client: GraphQLClient
    ) -> None:
        kept = await create_program(client)
        program = await create_program(client)

        result = await archive(client, program["id"])

        assert result["status"] == "ARCHIVED"
        assert await listed_ids(client) == [kept["id"]]
        assert await listed_ids(client, {"status": {"eq": "ARCHIVED"}}) == [program["id"]]
        assert await listed_ids(client, {"status": {"in": ["ARCHIVED", "READY"]}}) == [
            program["id"],
            kept["id"],
        ]
        assert await get_program(client, program["id"]) == result

    async def test_a_draft_can_be_archived(self, client: GraphQLClient) -> None:
        program = await create_program(client, ready=False)

        result = await archive(client, program["id"])

        assert result["status"] == "ARCHIVED"

    async def test_archiving_twice_conflicts(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await archive(client, program["id"])

        result = await archive(client, program["id"])

        assert result["__typename"] == "ConflictError"
        assert result["code"] == "CONFLICT"

    async def test_an_archived_program_does_not_execute(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await archive(client, program["id"])

        result = await execute(client, program["id"])

        assert result["__typename"] == "ConflictError"
        assert "ARCHIVED" in result["message"]
        stats = await client.data(STATS_QUERY, id=program["id"])
        assert stats["program"]["stats"]["executionCount"] == 0

    async def test_executions_are_kept(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        execution = await execute(client, program["id"], wait=True)
        await archive(client, program["id"])

        data = await client.data(
            """query($id: ID!) { program(id: $id) { status stats { executionCount }
                 executions { nodes { id } } } }""",
            id=program["id"],
        )

        assert data["program"] == {
            "status": "ARCHIVED",
            "stats": {"executionCount": 1},
            "executions": {"nodes": [{"id": execution["id"]}]},
        }

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await archive(client, id)

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == id

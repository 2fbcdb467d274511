"""The programs that use a space, and executing them with a configuration of it."""

from __future__ import annotations

import pytest

from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient
from tests.variable_spaces.helpers import (
    RAG,
    TOP_K_WHEN_DENSE,
    UPDATE_PROGRAM,
    Node,
    new_program,
    problems,
    run,
    space,
    space_programs,
)

PROGRAM_SPACE = """query($id: ID!) { program(id: $id) {
  variableSpace { id name programCount programs { totalCount nodes { id } } } } }"""


class TestPrograms:
    async def test_a_program_uses_a_space(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)

        program = await new_program(client, variableSpaceId=rag["id"])
        other = await new_program(client, variableSpaceId=rag["id"])
        await new_program(client)

        assert program["variableSpace"] == {"id": rag["id"]}
        found = (await client.data(PROGRAM_SPACE, id=program["id"]))["program"]["variableSpace"]
        assert (found["id"], found["name"], found["programCount"]) == (rag["id"], rag["name"], 2)
        assert found["programs"]["totalCount"] == 2
        assert {node["id"] for node in found["programs"]["nodes"]} == {program["id"], other["id"]}

    async def test_an_unknown_space_is_not_found(self, client: GraphQLClient) -> None:
        missing = "00000000-0000-4000-8000-000000000000"

        created = await new_program(client, variableSpaceId=missing)

        assert (created["__typename"], created["id"]) == ("NotFoundError", missing)
        programs = await client.data("{ programs { totalCount } }")
        assert programs["programs"]["totalCount"] == 0

    async def test_attach_and_detach(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client)
        assert program["variableSpace"] is None

        attached = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": rag["id"]}
        )
        counted = await space_programs(client, rag["id"])
        renamed = await run(client, UPDATE_PROGRAM, id=program["id"], input={"name": "renamed"})
        detached = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": None}
        )

        assert attached["variableSpace"] == {"id": rag["id"]}
        assert counted == (1, 1)
        assert renamed["variableSpace"] == {"id": rag["id"]}  # left alone when not given
        assert detached["variableSpace"] is None
        assert await space_programs(client, rag["id"]) == (0, 0)

    async def test_attaching_an_unknown_space_is_not_found(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client, variableSpaceId=rag["id"])
        missing = "00000000-0000-4000-8000-000000000000"

        result = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": missing}
        )

        assert (result["__typename"], result["id"]) == ("NotFoundError", missing)
        assert await space_programs(client, rag["id"]) == (1, 1)

    async def test_archived_programs_are_not_counted(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client, variableSpaceId=rag["id"])

        await client.data(
            "mutation($id: ID!) { archiveProgram(id: $id) { __typename } }", id=program["id"]
        )

        assert await space_programs(client, rag["id"]) == (0, 0)


class TestExecute:
    async def test_a_valid_configuration_runs(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        program = await create_program(client, variableSpaceId=rag["id"])
        configuration = {"temperature": 0.2, "retriever": "dense", "top_k": 3}

        execution = await execute(
            client, program["id"], variableConfiguration=configuration, wait=True
        )

        assert execution["__typename"] == "Execution", execution
        assert execution["status"] == "COMPLETED", execution
        assert execution["variableConfiguration"] == configuration

    @pytest.mark.parametrize(
        ("configuration", "expected"),
        [
            ({"temperature": 9}, [("variableConfiguration.temperature", "out_of_range")]),
            ({"ghost": True}, [("variableConfiguration.ghost", "unknown")]),
            (
                {"retriever": "bm25", "top_k": 3},
                [("variableConfiguration.top_k", "inactive")],
            ),
        ],
        ids=["out-of-range", "unknown", "inactive"],
    )
    async def test_an_invalid_configuration_is_refused(
        self, client: GraphQLClient, configuration: Node, expected: list[tuple[str, str]]
    ) -> None:
        rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        program = await create_program(client, variableSpaceId=rag["id"])

        result = await execute(client, program["id"], variableConfiguration=configuration)

        assert problems(result) == expected
        data = await client.data("{ executions { totalCount } }")
        assert data["executions"]["totalCount"] == 0

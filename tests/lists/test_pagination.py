"""Pages and order: walking lists of programs and executions, and lists within a node."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lists.helpers import (
    EXECUTION_LIST,
    ORDER_FIELDS,
    PROGRAM_LIST,
    SLOW,
    Node,
    OrderBy,
    ids,
    on,
    order_by,
    sort_value,
    sorted_like_the_api,
)
from tests.support.factories import create_program, create_signature, execute
from tests.support.http_client import GraphQLClient


@dataclass(frozen=True)
class ExecutionSet:
    finished: list[Node]
    unfinished: list[Node]


@pytest.fixture(scope="class")
async def executions_with_nulls(shared_client: GraphQLClient) -> ExecutionSet:
    """Five finished executions (durations tie) and three that never finish here: their
    completedAt and durationMs stay null."""
    fast = await create_program(shared_client)
    slow = await create_program(shared_client, configuration=SLOW)
    finished = [
        await execute(
            shared_client, fast["id"], wait=True, variableConfiguration={"latency_ms": ms}
        )
        for ms in (0, 5, 0, 12, 5)
    ]
    unfinished = [await execute(shared_client, slow["id"]) for _ in range(3)]
    assert {execution["status"] for execution in finished} == {"COMPLETED"}
    assert {execution["status"] for execution in unfinished} <= {"PENDING", "RUNNING"}
    return ExecutionSet(finished, unfinished)


class TestProgramPages:
    @pytest.mark.parametrize(
        "order",
        [
            [("NAME", "ASC")],
            [("NAME", "DESC")],
            [("CREATED_AT", "ASC")],
            [("CREATED_AT", "DESC")],
            [("UPDATED_AT", "DESC")],
            [("NAME", "ASC"), ("CREATED_AT", "DESC")],
            [("NAME", "DESC"), ("CREATED_AT", "ASC")],
        ],
    )
    async def test_walking_pages_gives_every_program_once_in_order(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], order: OrderBy
    ) -> None:
        unpaged = await PROGRAM_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await PROGRAM_LIST.walk(shared_client, 3, orderBy=order_by(order))

        assert ids(unpaged) == sorted_like_the_api(programs_with_ties, order)
        assert ids(walked) == ids(unpaged)

    async def test_programs_with_the_same_name_keep_a_stable_order_by_id(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        walked = await PROGRAM_LIST.walk(shared_client, 2, orderBy=order_by([("NAME", "ASC")]))

        mikes = [node["id"] for node in walked if node["name"] == "mike"]
        assert len(mikes) == 4
        assert mikes == sorted(mikes, key=uuid.UUID)

    async def test_newest_first_by_default(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        walked = await PROGRAM_LIST.walk(shared_client, 3)

        assert ids(walked) == ids(programs_with_ties)[::-1]

    async def test_only_the_first_page_has_no_previous_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        first = await PROGRAM_LIST.connection(shared_client, first=3)
        second = await PROGRAM_LIST.connection(
            shared_client, first=3, after=first["pageInfo"]["endCursor"]
        )
        last = await PROGRAM_LIST.connection(
            shared_client, first=3, after=second["pageInfo"]["endCursor"]
        )

        pages = [first["pageInfo"], second["pageInfo"], last["pageInfo"]]
        assert [info["hasPreviousPage"] for info in pages] == [False, True, True]
        assert [info["hasNextPage"] for info in pages] == [True, True, False]
        assert [len(page["edges"]) for page in (first, second, last)] == [3, 3, 1]

    async def test_total_count_is_the_whole_filtered_list_not_the_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        everything = await PROGRAM_LIST.connection(shared_client, first=2)
        mikes = await PROGRAM_LIST.connection(
            shared_client, first=2, filter={"name": {"eq": "mike"}}
        )

        assert (len(everything["edges"]), everything["totalCount"]) == (2, 7)
        assert (len(mikes["edges"]), mikes["totalCount"]) == (2, 4)

    async def test_a_page_exactly_as_long_as_the_list_has_no_next_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        whole = await PROGRAM_LIST.connection(shared_client, first=7)
        one_short = await PROGRAM_LIST.connection(shared_client, first=6)

        assert (len(whole["edges"]), whole["pageInfo"]["hasNextPage"]) == (7, False)
        assert (len(one_short["edges"]), one_short["pageInfo"]["hasNextPage"]) == (6, True)

    async def test_first_zero_is_an_empty_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        connection = await PROGRAM_LIST.connection(shared_client, first=0)

        assert connection["edges"] == connection["nodes"] == []
        assert connection["pageInfo"]["startCursor"] is None
        assert connection["pageInfo"]["endCursor"] is None
        assert connection["pageInfo"]["hasPreviousPage"] is False
        assert connection["totalCount"] == 7

    async def test_a_cursor_past_the_end_gives_an_empty_last_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        whole = await PROGRAM_LIST.connection(shared_client, first=7)

        after = await PROGRAM_LIST.connection(shared_client, after=whole["pageInfo"]["endCursor"])

        assert after["edges"] == []
        assert after["pageInfo"]["hasNextPage"] is False
        assert after["pageInfo"]["hasPreviousPage"] is True

    async def test_an_empty_organization_has_an_empty_list(self, client: GraphQLClient) -> None:
        connection = await PROGRAM_LIST.connection(client)

        assert connection["edges"] == []
        assert connection["totalCount"] == 0
        assert connection["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        }


class TestExecutionPages:
    @pytest.mark.parametrize("size", [2, 3])
    @pytest.mark.parametrize(
        "order",
        [
            [("CREATED_AT", "ASC")],
            [("COMPLETED_AT", "ASC")],
            [("COMPLETED_AT", "DESC")],
            [("DURATION_MS", "ASC")],
            [("DURATION_MS", "DESC")],
            [("DURATION_MS", "DESC"), ("CREATED_AT", "ASC")],
            [("DURATION_MS", "ASC"), ("COMPLETED_AT", "DESC")],
        ],
    )
    async def test_walking_pages_over_null_values_gives_every_execution_once_in_order(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        order: OrderBy,
        size: int,
    ) -> None:
        unpaged = await EXECUTION_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await EXECUTION_LIST.walk(shared_client, size, orderBy=order_by(order))

        assert len(unpaged) == 8
        assert ids(unpaged) == sorted_like_the_api(unpaged, order)
        assert ids(walked) == ids(unpaged)

    @pytest.mark.parametrize("direction", ["ASC", "DESC"])
    @pytest.mark.parametrize("field", ["COMPLETED_AT", "DURATION_MS"])
    async def test_unfinished_executions_come_last_in_either_direction(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        field: str,
        direction: str,
    ) -> None:
        walked = await EXECUTION_LIST.walk(shared_client, 3, orderBy=order_by([(field, direction)]))

        values = [node[ORDER_FIELDS[field]] for node in walked]
        assert values[5:] == [None, None, None]
        assert None not in values[:5]
        assert set(ids(walked[5:])) == set(ids(executions_with_nulls.unfinished))
        finished = [sort_value(node, field) for node in walked[:5]]
        assert finished == sorted(finished, reverse=direction == "DESC")

    @settings(
        max_examples=25,
        deadline=None,
    )
    @given(
        order=st.lists(
            st.tuples(
                st.sampled_from(["CREATED_AT", "COMPLETED_AT", "DURATION_MS"]),
                st.sampled_from(["ASC", "DESC"]),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda key: key[0],
        ),
        size=st.integers(min_value=1, max_value=9),
    )
    async def test_any_order_and_page_size_agree_with_a_python_sort(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        order: OrderBy,
        size: int,
    ) -> None:
        unpaged = await EXECUTION_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await EXECUTION_LIST.walk(shared_client, size, orderBy=order_by(order))

        assert ids(walked) == sorted_like_the_api(unpaged, order)


class TestNestedLists:
    async def test_a_programs_executions_are_its_own_page_by_page(
        self, client: GraphQLClient
    ) -> None:
        program, other = await create_program(client), await create_program(client)
        mine = [(await execute(client, program["id"], wait=True))["id"] for _ in range(3)]
        await execute(client, other["id"], wait=True)
        query = """query($id: ID!, $after: String) { program(id: $id) {
            executions(first: 2, after: $after, orderBy: [{field: CREATED_AT}]) {
              totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }"""

        async def page(after: str | None = None) -> dict[str, Any]:
            data = await client.data(query, id=program["id"], after=after)
            executions: dict[str, Any] = data["program"]["executions"]
            return executions

        first = await page()
        second = await page(first["pageInfo"]["endCursor"])

        assert ids(first["nodes"]) + ids(second["nodes"]) == mine
        assert (first["totalCount"], second["totalCount"]) == (3, 3)
        assert first["pageInfo"]["hasNextPage"] is True
        assert second["pageInfo"]["hasNextPage"] is False

    async def test_a_signatures_programs_are_its_own_page_by_page(
        self, client: GraphQLClient
    ) -> None:
        signature = await create_signature(client)
        mine = [await create_program(client, **on(signature), ready=False) for _ in range(3)]
        await create_program(client, signatureSpec="text -> label", ready=False)
        query = """query($id: ID!, $after: String) { signature(id: $id) {
            programs(first: 2, after: $after) {
              totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }"""

        async def page(after: str | None = None) -> dict[str, Any]:
            data = await client.data(query, id=signature["id"], after=after)
            programs: dict[str, Any] = data["signature"]["programs"]
            return programs

        first = await page()
        second = await page(first["pageInfo"]["endCursor"])

        assert ids(first["nodes"]) + ids(second["nodes"]) == ids(mine)[::-1]
        assert (first["totalCount"], second["totalCount"]) == (3, 3)
        assert second["pageInfo"]["hasNextPage"] is False

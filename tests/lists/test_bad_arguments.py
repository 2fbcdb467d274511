"""Arguments a list refuses: page sizes, cursors and orders."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.lists.helpers import (
    EXECUTIONS,
    MAX_PAGE_SIZE,
    PROGRAM_LIST,
    PROGRAMS,
    Node,
    OrderBy,
    codes,
    ids,
    order_by,
)
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient


def cursor_of(payload: Any) -> str:
    """A cursor a client forged: the same encoding the API uses, with other contents."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


class TestBadArguments:
    @pytest.mark.parametrize("first", [-1, MAX_PAGE_SIZE + 1, 2**31 - 1])
    async def test_first_out_of_range_fails_validation(
        self, client: GraphQLClient, first: int
    ) -> None:
        found = await client.errors(PROGRAMS, first=first)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "first" in found[0]["message"]
        assert found[0]["path"] == ["programs"]

    async def test_first_at_the_cap_is_fine(self, client: GraphQLClient) -> None:
        connection = await PROGRAM_LIST.connection(client, first=MAX_PAGE_SIZE)

        assert connection["edges"] == []

    async def test_first_is_checked_on_nested_lists_too(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        query = "query($id: ID!) { program(id: $id) { executions(first: -1) { totalCount } } }"

        found = await client.errors(query, id=program["id"])

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "first" in found[0]["message"]

    @pytest.mark.parametrize(
        "after",
        ["garbage", "", "%%%", cursor_of([1, 2]), cursor_of({"o": "name:asc"}), "eyJv"],
    )
    async def test_a_garbage_cursor_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], after: str
    ) -> None:
        found = await shared_client.errors(PROGRAMS, after=after)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "cursor" in found[0]["message"]

    @pytest.mark.parametrize(
        "values",
        [
            ["yesterday", "not-an-id"],
            [{"t": "2024-01-01T00:00:00"}, {"u": str(uuid.uuid4())}],
            [None, None],
        ],
        ids=["strings", "naive-datetime", "nulls"],
    )
    async def test_a_tampered_cursor_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], values: list[Any]
    ) -> None:
        after = cursor_of({"l": "programs", "o": ["created_at:desc"], "v": values})

        found = await shared_client.errors(PROGRAMS, after=after)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert found[0]["message"] == "Validation failed: after: Invalid cursor"

    async def test_a_cursor_from_another_list_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2)

        found = await shared_client.errors(EXECUTIONS, after=page["pageInfo"]["endCursor"])

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "another list" in found[0]["message"]

    @pytest.mark.parametrize(
        ("issued_for", "used_with"),
        [
            ([("NAME", "ASC")], [("NAME", "DESC")]),
            ([("NAME", "ASC")], [("CREATED_AT", "DESC")]),
            ([("NAME", "ASC")], [("NAME", "ASC"), ("CREATED_AT", "ASC")]),
            ([("CREATED_AT", "DESC")], [("UPDATED_AT", "DESC")]),
        ],
    )
    async def test_a_cursor_from_another_order_fails_validation(
        self,
        shared_client: GraphQLClient,
        programs_with_ties: list[Node],
        issued_for: OrderBy,
        used_with: OrderBy,
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2, orderBy=order_by(issued_for))

        found = await shared_client.errors(
            PROGRAMS, after=page["pageInfo"]["endCursor"], orderBy=order_by(used_with)
        )

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "orderBy" in found[0]["message"]

    async def test_the_default_order_is_created_at_descending_for_cursors_too(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2)

        explicit = await PROGRAM_LIST.connection(
            shared_client,
            after=page["pageInfo"]["endCursor"],
            orderBy=order_by([("CREATED_AT", "DESC")]),
        )

        assert ids(page["nodes"]) + ids(explicit["nodes"]) == ids(programs_with_ties)[::-1]

    @pytest.mark.parametrize(
        "order",
        [
            [("NAME", "ASC"), ("NAME", "ASC")],
            [("NAME", "ASC"), ("NAME", "DESC")],
            [("CREATED_AT", "ASC"), ("NAME", "ASC"), ("CREATED_AT", "DESC")],
        ],
    )
    async def test_the_same_field_twice_in_order_by_fails_validation(
        self, client: GraphQLClient, order: OrderBy
    ) -> None:
        found = await client.errors(PROGRAMS, orderBy=order_by(order))

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "orderBy" in found[0]["message"]

    async def test_the_same_field_twice_is_refused_on_executions_too(
        self, client: GraphQLClient
    ) -> None:
        order = order_by([("DURATION_MS", "ASC"), ("DURATION_MS", "DESC")])

        found = await client.errors(EXECUTIONS, orderBy=order)

        assert codes(found) == ["VALIDATION_FAILED"]

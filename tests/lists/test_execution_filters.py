"""Filters on lists of executions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.lists.helpers import EXECUTION_LIST, EXECUTIONS, MAX_PAGE_SIZE, SLOW, Node, codes, ids
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient


@dataclass(frozen=True)
class ExecutionCatalog:
    """Executions by role: `quick`, `slow` (15 ms) and `failed` of program `fast`, `other` of
    program `other`, and `unfinished` of program `slow` (it never finishes here)."""

    programs: dict[str, str]
    executions: dict[str, Node]

    def ids(self, *roles: str) -> set[str]:
        return {self.executions[role]["id"] for role in roles}


@pytest.fixture(scope="class")
async def execution_catalog(shared_client: GraphQLClient) -> ExecutionCatalog:
    client = shared_client
    fast = await create_program(client, configuration={"fail_on": {"question": "boom"}})
    other = await create_program(client)
    slow = await create_program(client, configuration=SLOW)
    executions = {
        "quick": await execute(client, fast["id"], wait=True),
        "slow": await execute(
            client, fast["id"], wait=True, variableConfiguration={"latency_ms": 15}
        ),
        "failed": await execute(client, fast["id"], wait=True, inputs={"question": "boom"}),
        "other": await execute(client, other["id"], wait=True),
        "unfinished": await execute(client, slow["id"]),
    }
    statuses = [executions[role]["status"] for role in ("quick", "slow", "other", "failed")]
    assert statuses == ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]
    programs = {"fast": fast["id"], "other": other["id"], "slow": slow["id"]}
    return ExecutionCatalog(programs, executions)


async def executions_matching(client: GraphQLClient, filter: dict[str, Any]) -> set[str]:
    """The ids of the executions the filter lists; totalCount must agree."""
    connection = await EXECUTION_LIST.connection(client, filter=filter, first=MAX_PAGE_SIZE)
    assert connection["totalCount"] == len(connection["edges"])
    return set(ids([edge["node"] for edge in connection["edges"]]))


FINISHED = ("quick", "slow", "failed", "other")


class TestExecutionFilters:
    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"eq": "fast"}, {"quick", "slow", "failed"}),
            ({"in": ["fast", "other"]}, {"quick", "slow", "failed", "other"}),
            ({"neq": "fast"}, {"other", "unfinished"}),
            ({"nin": ["fast", "other"]}, {"unfinished"}),
        ],
    )
    async def test_by_program(
        self,
        shared_client: GraphQLClient,
        execution_catalog: ExecutionCatalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        programs = execution_catalog.programs
        by_id = {
            op: [programs[name] for name in value] if isinstance(value, list) else programs[value]
            for op, value in operators.items()
        }

        found = await executions_matching(shared_client, {"programId": by_id})

        assert found == execution_catalog.ids(*expected)

    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"eq": "COMPLETED"}, {"quick", "slow", "other"}),
            ({"neq": "COMPLETED"}, {"failed", "unfinished"}),
            ({"in": ["FAILED", "PENDING", "RUNNING"]}, {"failed", "unfinished"}),
            ({"nin": ["COMPLETED", "FAILED"]}, {"unfinished"}),
            ({"in": ["CANCELLED"]}, set()),
        ],
    )
    async def test_by_status(
        self,
        shared_client: GraphQLClient,
        execution_catalog: ExecutionCatalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        found = await executions_matching(shared_client, {"status": operators})

        assert found == execution_catalog.ids(*expected)

    async def test_by_duration(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        listed = await EXECUTION_LIST.everything(shared_client)
        durations: dict[str, int] = {
            e["id"]: e["durationMs"] for e in listed if e["durationMs"] is not None
        }
        pivot = durations[execution_catalog.executions["slow"]["id"]]
        assert pivot >= 15
        unfinished = execution_catalog.ids("unfinished")

        def lasting(test: Callable[[int], bool]) -> set[str]:
            return {id for id, ms in durations.items() if test(ms)}

        expected = {
            "gte": lasting(lambda ms: ms >= pivot),
            "gt": lasting(lambda ms: ms > pivot),
            "lt": lasting(lambda ms: ms < pivot),
            "lte": lasting(lambda ms: ms <= pivot),
            "eq": lasting(lambda ms: ms == pivot),
            "neq": lasting(lambda ms: ms != pivot) | unfinished,
            "in": lasting(lambda ms: ms == pivot),
            "nin": lasting(lambda ms: ms != pivot) | unfinished,
        }
        values: dict[str, Any] = dict.fromkeys(expected, pivot) | {
            "in": [pivot, -1],
            "nin": [pivot],
        }

        found = {
            op: await executions_matching(shared_client, {"durationMs": {op: values[op]}})
            for op in expected
        }

        assert found == expected
        assert (
            await executions_matching(shared_client, {"durationMs": {"isNull": True}}) == unfinished
        )
        assert await executions_matching(
            shared_client, {"durationMs": {"isNull": False}}
        ) == execution_catalog.ids(*FINISHED)

    async def test_by_completion_and_creation(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        c = execution_catalog
        slow = c.executions["slow"]

        unfinished = await executions_matching(shared_client, {"completedAt": {"isNull": True}})
        later = await executions_matching(
            shared_client, {"completedAt": {"gt": slow["completedAt"]}}
        )
        since = await executions_matching(
            shared_client,
            {"createdAt": {"gte": slow["createdAt"]}, "status": {"eq": "COMPLETED"}},
        )

        assert unfinished == c.ids("unfinished")
        assert later == c.ids("failed", "other")
        assert since == c.ids("slow", "other")

    async def test_and_or_not(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        programs = execution_catalog.programs
        filter = {
            "or": [
                {"programId": {"eq": programs["other"]}},
                {
                    "and": [
                        {"programId": {"eq": programs["fast"]}},
                        {"not": {"status": {"eq": "COMPLETED"}}},
                    ]
                },
            ]
        }

        found = await executions_matching(shared_client, filter)

        assert found == execution_catalog.ids("other", "failed")

    async def test_a_programs_executions_filter_within_the_program(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        query = (
            "query($id: ID!) { program(id: $id) {"
            " executions(filter: {status: {eq: COMPLETED}}) { totalCount nodes { id } } } }"
        )

        data = await shared_client.data(query, id=execution_catalog.programs["fast"])

        executions = data["program"]["executions"]
        assert executions["totalCount"] == 2
        assert set(ids(executions["nodes"])) == execution_catalog.ids("quick", "slow")

    async def test_a_malformed_program_id_fails_validation(self, client: GraphQLClient) -> None:
        found = await client.errors(EXECUTIONS, filter={"programId": {"eq": "program-1"}})

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "program-1" in found[0]["message"]

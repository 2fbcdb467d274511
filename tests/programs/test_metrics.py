"""A program's performance metrics and its execution stats."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.programs.helpers import (
    PRICED_FAILING_ON_BOOM,
    STATS_QUERY,
    UPDATE_METRICS,
    archive,
    field_codes,
    get_program,
    run,
)
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient


class TestUpdateMetrics:
    async def test_two_calls_merge_shallowly(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        await run(
            client,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"accuracy": 0.8, "latency": {"p50": 10}},
        )
        result = await run(
            client,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"f1": 0.7, "latency": {"p95": 20}},
        )

        assert result["performanceMetrics"] == {
            "accuracy": 0.8,
            "f1": 0.7,
            "latency": {"p95": 20},
        }
        assert result["status"] == "READY"
        stored = await get_program(client, program["id"]) or {}
        assert stored["performanceMetrics"] == result["performanceMetrics"]

    async def test_a_null_value_removes_the_key(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8, "f1": 0.7})

        result = await run(
            client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": None, "absent": None}
        )

        assert result["performanceMetrics"] == {"f1": 0.7}

    @pytest.mark.parametrize("metrics", [[{"accuracy": 0.8}], "accuracy=0.8", 0.8])
    async def test_a_non_object_is_refused(self, client: GraphQLClient, metrics: Any) -> None:
        program = await create_program(client)
        await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8})
        before = await get_program(client, program["id"])

        result = await run(client, UPDATE_METRICS, id=program["id"], metrics=metrics)

        assert field_codes(result) == {"metrics": "type"}
        assert await get_program(client, program["id"]) == before

    async def test_an_archived_program_conflicts(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        archived = await archive(client, program["id"])

        result = await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8})

        assert result["__typename"] == "ConflictError"
        assert await get_program(client, program["id"]) == archived

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await run(client, UPDATE_METRICS, id=id, metrics={"accuracy": 0.8})

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == id


class TestStats:
    async def test_a_program_without_executions(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        data = await client.data(STATS_QUERY, id=program["id"])

        assert data["program"] == {
            "stats": {
                "executionCount": 0,
                "completedCount": 0,
                "failedCount": 0,
                "successRate": 0.0,
                "averageDurationMs": None,
                "totalCost": 0.0,
                "totalTokens": 0,
            },
            "lastExecutedAt": None,
        }

    async def test_counts_costs_and_tokens_of_executions(self, client: GraphQLClient) -> None:
        program = await create_program(
            client,
            configuration=PRICED_FAILING_ON_BOOM,
        )
        executions = [
            await execute(client, program["id"], inputs={"question": q}, wait=True)
            for q in ("What is DSPy?", "boom", "Why?", "A much longer question, to vary tokens")
        ]
        # A slow failure: an average over every execution would differ from the completed ones'.
        executions.append(
            await execute(
                client,
                program["id"],
                inputs={"question": "boom"},
                variableConfiguration={"latency_ms": 25},
                wait=True,
            )
        )

        data = await client.data(STATS_QUERY, id=program["id"])

        completed = [e for e in executions if e["status"] == "COMPLETED"]
        failed = [e for e in executions if e["status"] == "FAILED"]
        assert (len(completed), len(failed)) == (3, 2)
        assert all(e["error"] == "Mock failure injected: inputs match fail_on" for e in failed)
        assert all(e["cost"] > 0 for e in completed)
        stats = data["program"]["stats"]
        assert stats["executionCount"] == 5
        assert stats["completedCount"] == 3
        assert stats["failedCount"] == 2
        assert stats["successRate"] == pytest.approx(3 / 5)
        durations = [e["durationMs"] for e in completed]
        assert stats["averageDurationMs"] == pytest.approx(sum(durations) / len(durations))
        assert stats["totalCost"] == pytest.approx(sum(e["cost"] for e in completed), rel=1e-9)
        assert stats["totalTokens"] == sum(
            e["promptTokens"] + e["completionTokens"] for e in completed
        )
        assert data["program"]["lastExecutedAt"] == executions[-1]["createdAt"]

    async def test_each_program_has_its_own_stats(self, client: GraphQLClient) -> None:
        busy = await create_program(
            client, name="busy", configuration={"fail_on": {"question": "x"}}
        )
        await create_program(client, name="idle")
        for question in ("a", "x"):
            await execute(client, busy["id"], inputs={"question": question}, wait=True)

        data = await client.data(
            """{ programs(orderBy: [{field: NAME}]) { nodes { name lastExecutedAt
                 stats { executionCount completedCount failedCount successRate } } } }"""
        )

        busy_row, idle_row = data["programs"]["nodes"]
        assert (busy_row["name"], idle_row["name"]) == ("busy", "idle")
        assert busy_row["stats"] == {
            "executionCount": 2,
            "completedCount": 1,
            "failedCount": 1,
            "successRate": 0.5,
        }
        assert busy_row["lastExecutedAt"] is not None
        assert idle_row["stats"]["executionCount"] == 0
        assert idle_row["lastExecutedAt"] is None

"""Cancelling a run, and who may."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi import FastAPI

from tests.optimization_runs.helpers import (
    Node,
    at,
    audit_rows,
    cancel,
    completed,
    get_run,
    program_state,
    visible_program,
)
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import (
    PROGRESS,
    create_space,
    finished,
    landscape_program,
    start,
    training_data,
)
from tests.support.people import member
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket


async def running(app: FastAPI, credential: str, run_id: str, iterations: int = 1) -> Node:
    """The run's progress once it has completed `iterations` evaluations (and is still going)."""

    def far_enough(message: Node) -> bool:
        state = message["payload"]["data"]["optimizationProgress"]
        return bool(state["iterationsCompleted"] >= iterations)

    async with Socket(app, credential) as socket:
        messages = await socket.subscribe(PROGRESS, {"id": run_id}, until=far_enough)
    assert messages[-1]["type"] == "next", messages[-1]
    state: Node = messages[-1]["payload"]["data"]["optimizationProgress"]
    assert state["status"] == "RUNNING", state
    return state


class TestCancel:
    async def test_a_running_run_is_cancelled(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=30)
        run = await start(client, program_id, trainingData=training_data(8), maxIterations=40)
        progress = await running(app, tenant.admin_key, run["id"], iterations=2)

        cancelled = await cancel(client, run["id"])
        stored = await get_run(client, run["id"])

        iterations = progress["iterationsCompleted"]
        assert progress["progressPercentage"] == pytest.approx(100 * iterations / 40)
        assert at(progress["estimatedCompletion"]) > at(progress["startedAt"])
        assert progress["durationSeconds"] > 0
        assert progress["completedAt"] is None
        assert progress["program"]["status"] == "OPTIMIZING"
        assert cancelled["__typename"] == "OptimizationRun", cancelled
        assert cancelled["status"] == "CANCELLED"
        assert cancelled["error"] == "Cancelled by user"
        assert cancelled["completedAt"] is not None
        assert cancelled["program"]["status"] == "READY"
        assert (await program_state(client, program_id))["status"] == "READY"
        assert 2 <= stored["iterationsCompleted"] < 40
        assert stored["evaluationCount"] == stored["iterationsCompleted"]
        assert stored["bestScore"] == max(e["score"] for e in stored["evaluations"]["nodes"])
        assert (await finished(app, tenant.admin_key, run["id"]))["status"] == "CANCELLED"

        again = await cancel(client, run["id"])
        assert again["__typename"] == "ConflictError", again
        assert "CANCELLED" in again["message"]

    async def test_concurrent_cancels_cancel_once(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=30)
        run = await start(client, program_id, trainingData=training_data(8), maxIterations=40)
        await running(app, tenant.admin_key, run["id"])

        results = await asyncio.gather(*(cancel(client, run["id"]) for _ in range(3)))

        assert (await get_run(client, run["id"]))["status"] == "CANCELLED", results
        assert (await program_state(client, program_id))["status"] == "READY"
        for result in results:
            assert result["__typename"] == "ConflictError" or result["status"] == "CANCELLED"
        assert len(await audit_rows(client, "optimization.cancel")) == 1

    async def test_a_pending_run_is_cancelled(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"], latency_ms=60_000)
        run = await start(client, program_id, maxIterations=40)

        cancelled = await cancel(client, run["id"])

        assert cancelled["status"] == "CANCELLED", cancelled
        assert cancelled["error"] == "Cancelled by user"
        assert cancelled["iterationsCompleted"] == 0
        assert cancelled["evaluationCount"] == 0
        assert (await program_state(client, program_id))["status"] == "READY"
        again = await start(client, program_id, maxIterations=1)
        assert again["__typename"] == "OptimizationRun", "the program can be optimized again"
        await cancel(client, again["id"])

    async def test_a_finished_run_cannot_be_cancelled(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        run = await completed(app, client, tenant.admin_key, program_id, maxIterations=2)

        refused = await cancel(client, run["id"])

        assert refused["__typename"] == "ConflictError", refused
        assert refused["code"] == "CONFLICT"
        assert "COMPLETED" in refused["message"]
        assert (await get_run(client, run["id"]))["status"] == "COMPLETED"
        assert await audit_rows(client, "optimization.cancel") == []

    async def test_unknown_and_other_organizations_runs_are_not_found(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        other = client.acting_as((await new_tenant(app)).admin_key)
        space = await create_space(other)
        program_id = await landscape_program(other, space["id"], latency_ms=60_000)
        theirs = await start(other, program_id, maxIterations=40)

        for id in (theirs["id"], str(uuid.uuid4())):
            refused = await cancel(client, id)
            assert refused["__typename"] == "NotFoundError", refused
            assert refused["id"] == id

        assert (await get_run(other, theirs["id"]))["status"] in {"PENDING", "RUNNING"}
        assert (await cancel(other, theirs["id"]))["status"] == "CANCELLED"

    async def test_only_who_started_it_or_an_admin_cancels(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        starter = await member(client, "USER")
        bystander = await member(client, "USER")
        viewer = await member(client, "VIEWER")
        space = await create_space(starter.client)
        program_id = await visible_program(starter.client, space["id"], latency_ms=60_000)
        run = await start(starter.client, program_id, maxIterations=40)

        for refused_by in (bystander, viewer):
            refused = await cancel(refused_by.client, run["id"])
            assert refused["__typename"] == "ForbiddenError", refused
            assert refused["code"] == "FORBIDDEN"
        assert (await get_run(client, run["id"]))["status"] in {"PENDING", "RUNNING"}

        cancelled = await cancel(starter.client, run["id"])
        assert cancelled["status"] == "CANCELLED", cancelled

        second = await start(starter.client, program_id, maxIterations=40)
        assert (await cancel(client, second["id"]))["status"] == "CANCELLED", "an admin may"

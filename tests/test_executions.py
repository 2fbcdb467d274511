from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from dspex_gql.app import create_app
from dspex_gql.config import ExecutionSettings, Settings
from dspex_gql.engine.adapters.base import Adapter, AdapterRequest, AdapterResult
from dspex_gql.engine.custom import CustomProgramRegistry
from tests.support.app import make_settings
from tests.support.factories import EXECUTION, create_program, errors, execute, get_execution
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant

SLOW = {"latency_ms": 60_000}
CANCEL = (
    EXECUTION
    + "mutation($id: ID!) { cancelExecution(id: $id) { __typename ...ExecutionParts "
    + errors("NotFoundError")
    + "} }"
)


async def count_executions(client: GraphQLClient, program_id: str) -> int:
    data = await client.data(
        "query($id: ID!) { executions(filter: {programId: {eq: $id}}) { totalCount } }",
        id=program_id,
    )
    count: int = data["executions"]["totalCount"]
    return count


class TestExecuteProgram:
    async def test_returns_a_pending_execution_at_once(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration=SLOW)

        execution = await execute(client, program["id"])

        assert execution["status"] == "PENDING"
        assert execution["sequence"] == 1
        assert execution["inputs"] == {"question": "What is DSPy?"}
        assert execution["program"]["id"] == program["id"]
        assert execution["startedAt"] is None
        assert execution["triggeredBy"] is not None

    async def test_wait_returns_the_finished_execution(self, client: GraphQLClient) -> None:
        prices = {"prompt_price_per_1k": 2.0, "completion_price_per_1k": 4.0}
        program = await create_program(client, type="CHAIN_OF_THOUGHT", configuration=prices)

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "COMPLETED"
        assert set(execution["outputs"]) == {"reasoning", "answer"}
        assert isinstance(execution["outputs"]["answer"], str)
        assert execution["error"] is None
        assert execution["startedAt"] <= execution["completedAt"]
        assert execution["durationMs"] >= 0
        tokens = (execution["promptTokens"], execution["completionTokens"])
        assert min(tokens) >= 1
        assert execution["cost"] == pytest.approx(tokens[0] / 1000 * 2.0 + tokens[1] / 1000 * 4.0)
        assert execution["metadata"]["adapter"] == "mock"
        assert execution["trace"] is not None
        assert execution["sequence"] > 1

    async def test_outputs_are_typed_by_the_signature(self, client: GraphQLClient) -> None:
        spec = "question -> answer, confidence: float, sources: list[str], ok: bool, n: int"
        program = await create_program(client, signatureSpec=spec)

        outputs = (await execute(client, program["id"], wait=True))["outputs"]

        assert isinstance(outputs["confidence"], float)
        assert all(isinstance(source, str) for source in outputs["sources"])
        assert isinstance(outputs["ok"], bool)
        assert type(outputs["n"]) is int

    async def test_same_inputs_and_configuration_give_the_same_outputs(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client)

        first = await execute(client, program["id"], wait=True)
        again = await execute(client, program["id"], wait=True)
        hotter = await execute(
            client, program["id"], wait=True, variableConfiguration={"temperature": 0.9}
        )

        assert first["outputs"] == again["outputs"]
        assert hotter["outputs"] != first["outputs"]
        assert hotter["variableConfiguration"] == {"temperature": 0.9}

    async def test_latency_is_simulated(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration={"latency_ms": 50})

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "COMPLETED"
        assert execution["durationMs"] >= 50

    async def test_wait_is_bounded_by_timeout(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration=SLOW)

        execution = await execute(client, program["id"], wait=True, timeoutMs=50)

        assert execution["status"] in {"PENDING", "RUNNING"}
        assert execution["completedAt"] is None

    async def test_an_injected_failure_is_recorded(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration={"fail_on": {"question": "boom"}})

        failed = await execute(client, program["id"], inputs={"question": "boom"}, wait=True)
        fine = await execute(client, program["id"], inputs={"question": "calm"}, wait=True)

        assert failed["status"] == "FAILED"
        assert "fail_on" in failed["error"]
        assert failed["outputs"] is None
        assert failed["completedAt"] is not None
        assert fine["status"] == "COMPLETED"


class TestInputValidation:
    async def test_each_problem_is_one_field_error_and_nothing_is_stored(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client, signatureSpec="question, k: int -> answer")

        result = await execute(client, program["id"], inputs={"question": 3, "extra": True})

        assert result["__typename"] == "ValidationError"
        assert result["message"] == (
            "Input validation failed: expected str, got int; missing 'k'; unknown 'extra'"
        )
        assert [(e["field"], e["code"]) for e in result["fieldErrors"]] == [
            ("inputs.question", "type"),
            ("inputs.k", "missing"),
            ("inputs.extra", "unknown"),
        ]
        assert await count_executions(client, program["id"]) == 0

    @pytest.mark.parametrize(
        ("field", "value"),
        [("inputs", ["not", "an", "object"]), ("variableConfiguration", 3), ("options", "x")],
    )
    async def test_json_arguments_must_be_objects(
        self, client: GraphQLClient, field: str, value: Any
    ) -> None:
        program = await create_program(client)

        result = await execute(client, program["id"], **{field: value})

        assert result["__typename"] == "ValidationError"
        assert result["fieldErrors"][0]["field"] == field
        assert await count_executions(client, program["id"]) == 0

    async def test_oversized_inputs_are_refused(
        self, client: GraphQLClient, settings: Settings
    ) -> None:
        program = await create_program(client)
        too_big = "x" * (settings.execution.max_input_bytes + 1)

        result = await execute(client, program["id"], inputs={"question": too_big})

        assert result["__typename"] == "ValidationError"
        assert result["fieldErrors"][0]["code"] == "too_large"

    async def test_negative_timeout_is_refused(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        result = await execute(client, program["id"], wait=True, timeoutMs=-1)

        assert result["fieldErrors"][0]["field"] == "timeoutMs"

    async def test_only_ready_programs_run(self, client: GraphQLClient) -> None:
        draft = await create_program(client, ready=False)

        result = await execute(client, draft["id"])

        assert result["__typename"] == "ConflictError"
        assert "only READY programs" in result["message"]
        assert await count_executions(client, draft["id"]) == 0

    @pytest.mark.parametrize("program_id", [str(uuid.uuid4()), "garbage"])
    async def test_unknown_programs_are_not_found(
        self, client: GraphQLClient, program_id: str
    ) -> None:
        result = await execute(client, program_id)

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == program_id


class TestCancelExecution:
    async def test_a_running_execution_is_cancelled_and_recorded(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client, configuration=SLOW)
        execution = await execute(client, program["id"])

        cancelled = (await client.data(CANCEL, id=execution["id"]))["cancelExecution"]

        assert cancelled["status"] == "CANCELLED"
        assert cancelled["error"] == "Cancelled by user"
        assert cancelled["completedAt"] is not None
        assert cancelled["sequence"] > execution["sequence"]
        assert (await get_execution(client, execution["id"]))["status"] == "CANCELLED"

    async def test_concurrent_cancels_cancel_it_once(self, client: GraphQLClient) -> None:
        program = await create_program(client, configuration=SLOW)
        execution = await execute(client, program["id"])

        results = await asyncio.gather(*(client.data(CANCEL, id=execution["id"]) for _ in range(4)))

        outcomes = sorted(result["cancelExecution"]["__typename"] for result in results)
        assert outcomes == ["ConflictError"] * 3 + ["Execution"], results
        assert (await get_execution(client, execution["id"]))["status"] == "CANCELLED"

    async def test_a_finished_execution_cannot_be_cancelled(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        execution = await execute(client, program["id"], wait=True)

        result = (await client.data(CANCEL, id=execution["id"]))["cancelExecution"]

        assert result["__typename"] == "ConflictError"
        assert "already finished (COMPLETED)" in result["message"]
        assert (await get_execution(client, execution["id"]))["status"] == "COMPLETED"

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "garbage"])
    async def test_unknown_executions_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = (await client.data(CANCEL, id=id))["cancelExecution"]

        assert result["__typename"] == "NotFoundError"


class TestConcurrency:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        execution = ExecutionSettings(max_concurrency=1, shutdown_grace_seconds=0)
        return make_settings(database_url, execution=execution)

    async def test_executions_queue_for_a_free_slot(self, client: GraphQLClient) -> None:
        slow = await create_program(client, configuration=SLOW)
        quick = await create_program(client)
        blocker = await execute(client, slow["id"])

        queued = await execute(client, quick["id"], wait=True, timeoutMs=100)
        assert queued["status"] == "PENDING"

        await client.data(CANCEL, id=blocker["id"])
        finished = await execute(client, quick["id"], wait=True)
        assert finished["status"] == "COMPLETED"
        assert (await get_execution(client, queued["id"]))["status"] == "COMPLETED"


class Explodes:
    """A CUSTOM implementation with a bug in it."""

    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult:
        raise RuntimeError("secret internals")


class AnswersWithAnObject:
    """A CUSTOM implementation whose result JSON has no form for: it could never be stored."""

    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult:
        return AdapterResult(outputs={"answer": object()})


class CountsBackwards:
    """A CUSTOM implementation reporting a negative token count (no INTEGER column or GraphQL
    `Int` check would stop it before PostgreSQL, where an INTEGER past 2**31 is refused)."""

    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult:
        return AdapterResult(outputs={"answer": "4"}, prompt_tokens=-3)


class TestUnexpectedFailures:
    @pytest.fixture
    async def app(self, settings: Settings) -> Any:
        registry = CustomProgramRegistry.from_entry_points()
        registry.register("explodes", Explodes())
        registry.register("answers-with-an-object", AnswersWithAnObject())
        registry.register("counts-backwards", CountsBackwards())
        application = create_app(settings, custom_programs=registry)
        async with application.router.lifespan_context(application):
            yield application

    async def test_are_recorded_without_their_details(
        self, client: GraphQLClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        program = await create_program(client, type="CUSTOM", implementation="explodes")

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "FAILED"
        assert execution["error"].startswith("Internal error (error id ")
        assert "secret" not in execution["error"]
        error_id = execution["error"].removeprefix("Internal error (error id ").rstrip(")")
        assert any(error_id in record.getMessage() for record in caplog.records)

    async def test_a_result_that_is_not_json_fails_the_execution(
        self, client: GraphQLClient
    ) -> None:
        """Before, the execution stayed PENDING for good: its final state could not be written."""
        program = await create_program(
            client, type="CUSTOM", implementation="answers-with-an-object"
        )

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "FAILED"
        assert execution["error"] == (
            "the program's result is not JSON: Object of type object is not JSON serializable"
        )
        assert execution["outputs"] is None

    async def test_usage_that_is_no_count_fails_the_execution(self, client: GraphQLClient) -> None:
        program = await create_program(client, type="CUSTOM", implementation="counts-backwards")

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "FAILED"
        assert execution["error"] == (
            "the program's result is not storable: "
            "prompt_tokens must be a whole number from 0 to 2147483647, not -3"
        )
        assert (execution["outputs"], execution["promptTokens"]) == (None, None)


class TestShutdown:
    async def test_running_executions_are_cancelled_and_recorded(self, settings: Settings) -> None:
        first = create_app(settings)
        async with first.router.lifespan_context(first):
            key = (await new_tenant(first)).admin_key
            async with GraphQLClient.for_app(first, key) as client:
                program = await create_program(client, configuration=SLOW)
                execution = await execute(client, program["id"])

        second = create_app(settings)
        async with (
            second.router.lifespan_context(second),
            GraphQLClient.for_app(second, key) as client,
        ):
            after = await get_execution(client, execution["id"])

        assert after["status"] == "CANCELLED"
        assert after["error"] == "Interrupted: the service shut down before this run finished"
        assert after["completedAt"] is not None

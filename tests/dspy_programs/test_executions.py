"""Executions of `dspy` programs: real DSPy modules calling the fake LM server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.dspy_programs.conftest import API_KEY, KNOWLEDGE, QUESTIONS, create_language_model
from tests.support.factories import create_program, execute, get_execution, unique, until_running
from tests.support.fake_lm import UNKNOWN_ANSWER, FakeLM
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant, new_tenant

EXPORT = "mutation($id: ID!) { exportProgram(id: $id) { ... on ProgramExport { state } } }"
CANCEL = (
    "mutation($id: ID!) { cancelExecution(id: $id) { __typename ... on Execution { status } } }"
)


async def dspy_program(
    client: GraphQLClient, model: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    configuration = {"lm": model["name"], "max_retries": 2} | fields.pop("configuration", {})
    return await create_program(client, adapter="dspy", configuration=configuration, **fields)


async def run(client: GraphQLClient, program: dict[str, Any], **fields: Any) -> dict[str, Any]:
    fields.setdefault("inputs", {"question": QUESTIONS[0]})
    return await execute(client, program["id"], wait=True, **fields)


@pytest.mark.parametrize("type", ["PREDICT", "CHAIN_OF_THOUGHT"])
async def test_a_dspy_program_runs_on_the_language_model(
    client: GraphQLClient, fake_lm: FakeLM, type: str
) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(
        client, model, type=type, signatureSpec="question -> answer, confidence: float"
    )

    execution = await run(client, program)

    assert execution["status"] == "COMPLETED", execution["error"]
    outputs = execution["outputs"]
    assert outputs["answer"] == UNKNOWN_ANSWER  # the learner knows it, but saw no example
    assert outputs["confidence"] == 0.0
    assert ("reasoning" in outputs) == (type == "CHAIN_OF_THOUGHT")
    body = fake_lm.stats.bodies[-1]
    assert body["temperature"] == 0.0
    assert QUESTIONS[0] in json.dumps(body["messages"])


async def test_tokens_cost_and_trace_come_from_the_call(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(
        client, fake_lm, promptPricePerMillion=1000.0, completionPricePerMillion=2000.0
    )
    program = await dspy_program(client, model)

    execution = await run(client, program)

    assert execution["status"] == "COMPLETED", execution["error"]
    prompt, completion = execution["promptTokens"], execution["completionTokens"]
    assert prompt > 0
    assert completion > 0
    assert execution["cost"] == pytest.approx((prompt * 1000.0 + completion * 2000.0) / 1e6)
    calls = execution["trace"]["calls"]
    assert len(calls) == 1
    assert calls[0]["prompt_tokens"] == prompt
    assert QUESTIONS[0] in json.dumps(calls[0]["messages"])
    assert "[[ ## answer ## ]]" in calls[0]["response"]
    assert API_KEY not in json.dumps(execution)


async def test_a_compiled_state_with_demos_makes_the_learner_answer(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    plain = await dspy_program(client, model)
    state = (await client.data(EXPORT, id=plain["id"]))["exportProgram"]["state"]
    state["demos"] = [{"question": QUESTIONS[1], **KNOWLEDGE[QUESTIONS[1]], "augmented": True}]
    imported = await client.data(
        """mutation($input: ImportProgramInput!) { importProgram(input: $input) {
             __typename ... on Program { id status } ... on Error { message } } }""",
        input={
            "name": unique("with-demos"),
            "signatureSpec": "question -> answer",
            "adapter": "dspy",
            "configuration": {"lm": model["name"]},
            "state": state,
            "initialize": True,
        },
    )
    program = imported["importProgram"]
    assert program["__typename"] == "Program", program

    execution = await run(client, program)

    assert execution["outputs"]["answer"] == KNOWLEDGE[QUESTIONS[0]]["answer"]


async def test_a_variable_configuration_picks_the_model_and_temperature(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    first = await create_language_model(client, fake_lm)
    second = await create_language_model(client, fake_lm, model="openai/other")
    program = await dspy_program(client, first)

    execution = await run(
        client, program, variableConfiguration={"lm": second["name"], "temperature": 0.9}
    )

    assert execution["status"] == "COMPLETED", execution["error"]
    assert fake_lm.stats.bodies[-1]["model"] == "other"
    assert fake_lm.stats.bodies[-1]["temperature"] == 0.9


async def test_rate_limits_and_server_errors_are_retried(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(client, model)
    fake_lm.fail_next(429)
    fake_lm.fail_next(503)

    execution = await run(client, program)

    assert execution["status"] == "COMPLETED", execution["error"]
    assert fake_lm.stats.requests == 3


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("malformed", "could not be parsed"),
        ("rate_limited", "rate-limited"),
        ("wrong_key", "API key"),
        ("missing_key", "API key"),
    ],
)
async def test_failures_fail_the_execution_with_a_clear_error(
    client: GraphQLClient, fake_lm: FakeLM, fault: str, message: str
) -> None:
    key = {"wrong_key": "sk-wrong-key", "missing_key": None}.get(fault, API_KEY)
    model = await create_language_model(client, fake_lm, apiKey=key)
    program = await dspy_program(client, model)
    if fault == "malformed":
        fake_lm.malformed_next(times=10)
    if fault == "rate_limited":
        fake_lm.fail_next(429, times=10)

    execution = await run(client, program)

    assert execution["status"] == "FAILED"
    assert message.lower() in execution["error"].lower(), execution["error"]
    assert API_KEY not in json.dumps(execution)


async def test_an_unreachable_server_fails_the_execution(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(client, model)
    fake_lm.stop()

    execution = await run(client, program)

    assert execution["status"] == "FAILED"
    assert "127.0.0.1" in execution["error"] or "connect" in execution["error"].lower()


async def test_a_call_over_its_timeout_fails(client: GraphQLClient, fake_lm: FakeLM) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(
        client, model, configuration={"timeout_seconds": 0.2, "max_retries": 0}
    )
    fake_lm.hang_next(30)

    execution = await run(client, program)

    assert execution["status"] == "FAILED"
    assert "did not answer within 0.2 s" in execution["error"], execution["error"]


async def test_cancel_interrupts_the_call(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(client, model)
    fake_lm.hang_next(60)
    started = await execute(client, program["id"], inputs={"question": QUESTIONS[0]})
    await until_running(app, tenant.admin_key, started["id"])
    await fake_lm.until(lambda stats: stats.in_flight > 0)

    cancelled = await client.data(CANCEL, id=started["id"])

    assert cancelled["cancelExecution"]["status"] == "CANCELLED"
    await fake_lm.until(lambda stats: stats.abandoned == 1, within_seconds=5)
    assert (await get_execution(client, started["id"]))["status"] == "CANCELLED"


async def test_an_unknown_model_is_refused_at_start(client: GraphQLClient, fake_lm: FakeLM) -> None:
    model = await create_language_model(client, fake_lm)
    program = await dspy_program(client, model)

    refused = await execute(
        client, program["id"], inputs={"question": "x"}, variableConfiguration={"lm": "nope"}
    )

    assert refused["__typename"] == "ValidationError", refused
    assert "nope" in refused["message"]


async def test_another_organizations_model_is_not_found(
    app: FastAPI, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    theirs = await create_language_model(client, fake_lm)
    other = await new_tenant(app)
    async with GraphQLClient.for_app(app, other.admin_key) as them:
        program = await create_program(
            them, ready=False, adapter="dspy", configuration={"lm": theirs["name"]}
        )
        initialized = await them.data(
            "mutation($id: ID!) { initializeProgram(id: $id) {"
            " __typename ... on Program { status errorMessage } } }",
            id=program["id"],
        )
    assert initialized["initializeProgram"]["status"] == "ERROR"
    assert theirs["name"] in initialized["initializeProgram"]["errorMessage"]
    assert fake_lm.stats.requests == 0


async def test_react_with_a_registered_tool_and_a_custom_module_run(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    react = await dspy_program(client, model, type="REACT", configuration={"tools": ["calculator"]})
    custom = await dspy_program(client, model, type="CUSTOM", implementation="self_check")

    reacted = await run(client, react)
    checked = await run(client, custom)

    assert reacted["status"] == "COMPLETED", reacted["error"]
    assert "trajectory" in reacted["outputs"]
    assert checked["status"] == "COMPLETED", checked["error"]
    assert set(checked["outputs"]) >= {"answer"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "REACT", "configuration": {"tools": ["no_such_tool"]}}, "no_such_tool"),
        ({"configuration": {"lm": "nobody"}}, "nobody"),
        ({"configuration": {"temperature": "hot"}}, "temperature"),
    ],
)
async def test_initialization_says_what_is_wrong(
    client: GraphQLClient, fake_lm: FakeLM, fields: dict[str, Any], reason: str
) -> None:
    model = await create_language_model(client, fake_lm)
    others = {key: value for key, value in fields.items() if key != "configuration"}
    configuration = {"lm": model["name"]} | fields["configuration"]
    program = await create_program(
        client, ready=False, adapter="dspy", configuration=configuration, **others
    )

    initialized = await client.data(
        "mutation($id: ID!) { initializeProgram(id: $id) {"
        " __typename ... on Program { status errorMessage } } }",
        id=program["id"],
    )

    assert initialized["initializeProgram"]["status"] == "ERROR"
    assert reason in initialized["initializeProgram"]["errorMessage"]
    assert fake_lm.stats.requests == 0

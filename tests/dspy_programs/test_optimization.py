"""DSPy's own optimizers as optimization strategies, through GraphQL, against the scripted
learner: it answers right only when the prompt carries a demonstration, so a compiled program
scores higher than the uncompiled one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import Settings
from tests.dspy_programs.conftest import KNOWLEDGE, QUESTIONS, create_language_model, training_data
from tests.support.factories import create_program, execute
from tests.support.fake_lm import FakeLM
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, finished, start, watch
from tests.support.tenants import Tenant

SPACE = [{"name": "temperature", "type": "FLOAT", "constraints": {"min": 0.0, "max": 1.0}}]
APPLY = """mutation($id: ID!) { applyBestConfiguration(optimizationRunId: $id) {
  __typename ... on Program { id compiledState configuration } ... on Error { message } } }"""
INITIALIZE = """mutation($id: ID!) { initializeProgram(id: $id) {
  __typename ... on Program { status errorMessage } } }"""
EVALUATIONS = """query($id: ID!) { optimizationRun(id: $id) { bestProgramState
  evaluations(first: 100) { nodes { iteration score programState metrics configuration } } } }"""
CANCEL = """mutation($id: ID!) { cancelOptimization(id: $id) {
  __typename ... on OptimizationRun { status } } }"""


async def dspy_setup(client: GraphQLClient, fake: FakeLM) -> tuple[str, str]:
    model = await create_language_model(client, fake)
    space = await create_space(client, variables=SPACE)
    program = await create_program(
        client, adapter="dspy", configuration={"lm": model["name"]}, variableSpaceId=space["id"]
    )
    return program["id"], space["id"]


async def compile_run(
    client: GraphQLClient, program_id: str, strategy: str, **fields: Any
) -> dict[str, Any]:
    run = await start(client, program_id, strategy=strategy, trainingData=training_data(), **fields)
    assert run["__typename"] == "OptimizationRun", run
    return run


async def test_bootstrap_few_shot_raises_the_metric_and_the_best_state_is_applied(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    program_id, _ = await dspy_setup(client, fake_lm)
    run = await compile_run(
        client,
        program_id,
        "DSPY_BOOTSTRAP_FEW_SHOT",
        strategyOptions={"maxLabeledDemos": 2, "maxBootstrappedDemos": 0},
    )

    done = await finished(app, tenant.admin_key, run["id"])
    stored = (await client.data(EVALUATIONS, id=run["id"]))["optimizationRun"]
    applied = (await client.data(APPLY, id=run["id"]))["applyBestConfiguration"]
    await client.data(INITIALIZE, id=applied["id"])
    question = QUESTIONS[-1]
    executed = await execute(client, applied["id"], inputs={"question": question}, wait=True)

    assert done["status"] == "COMPLETED", done["error"]
    assert done["results"]["baselineScore"] == 0.0
    assert done["bestScore"] >= 0.8
    assert done["bestConfiguration"] == {}
    assert stored["bestProgramState"]["demos"], stored["bestProgramState"]
    assert any(e["programState"] for e in stored["evaluations"]["nodes"])
    assert applied["compiledState"] == stored["bestProgramState"]
    assert executed["outputs"]["answer"] == KNOWLEDGE[question]["answer"]


async def test_progress_arrives_live(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    program_id, _ = await dspy_setup(client, fake_lm)
    run = await compile_run(client, program_id, "DSPY_BOOTSTRAP_FEW_SHOT")

    messages = await watch(app, tenant.admin_key, run["id"])

    counts = [message["evaluationCount"] for message in messages]
    assert messages[-1]["status"] == "COMPLETED"
    assert counts == sorted(counts)
    assert counts[-1] >= 2


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("DSPY_MIPRO_V2", {"auto": None, "numCandidates": 2, "numTrials": 2}),
        ("DSPY_SIMBA", {"batchSize": 4, "maxSteps": 1, "numCandidates": 2}),
        ("DSPY_GEPA", {"maxMetricCalls": 24}),
    ],
)
async def test_each_dspy_optimizer_compiles(
    app: FastAPI,
    tenant: Tenant,
    client: GraphQLClient,
    fake_lm: FakeLM,
    strategy: str,
    options: dict[str, Any],
) -> None:
    program_id, _ = await dspy_setup(client, fake_lm)
    run = await compile_run(client, program_id, strategy, strategyOptions=options)

    done = await finished(app, tenant.admin_key, run["id"])

    assert done["status"] == "COMPLETED", done["error"]
    assert done["bestScore"] >= done["results"]["baselineScore"]
    assert done["evaluationCount"] >= 1


async def test_an_lm_call_budget_stops_the_compile(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    program_id, _ = await dspy_setup(client, fake_lm)
    run = await compile_run(
        client, program_id, "DSPY_MIPRO_V2", strategyOptions={"maxLmCalls": 5, "auto": "light"}
    )

    done = await finished(app, tenant.admin_key, run["id"])

    assert done["results"]["stopReason"] == "max_lm_calls", done
    assert fake_lm.stats.requests <= 5 + 8  # the budget, plus the final scoring of the result


async def test_cancel_stops_the_compile_promptly(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    fake_lm.latency_ms = 20
    program_id, _ = await dspy_setup(client, fake_lm)
    run = await compile_run(client, program_id, "DSPY_MIPRO_V2", strategyOptions={"auto": "medium"})
    await fake_lm.until(lambda stats: stats.requests >= 3)

    cancelled = (await client.data(CANCEL, id=run["id"]))["cancelOptimization"]
    done = await finished(app, tenant.admin_key, run["id"])
    requests_when_done = fake_lm.stats.requests

    assert cancelled["status"] == "CANCELLED"
    assert done["status"] == "CANCELLED"
    program = await client.data("query($id: ID!) { program(id: $id) { status } }", id=program_id)
    assert program["program"]["status"] == "READY"
    assert fake_lm.stats.requests == requests_when_done


async def test_dspy_optimizers_compile_only_dspy_programs(client: GraphQLClient) -> None:
    space = await create_space(client, variables=SPACE)
    program = await create_program(client, variableSpaceId=space["id"])

    refused = await start(client, program["id"], strategy="DSPY_BOOTSTRAP_FEW_SHOT")

    assert refused["__typename"] == "ValidationError"
    assert "dspy" in refused["message"]


async def test_bad_options_are_each_reported(client: GraphQLClient, fake_lm: FakeLM) -> None:
    program_id, _ = await dspy_setup(client, fake_lm)

    refused = await start(
        client,
        program_id,
        strategy="DSPY_SIMBA",
        trainingData=training_data(),
        strategyOptions={"batchSize": 1000, "noSuchOption": 1},
    )

    assert refused["__typename"] == "ValidationError"
    fields = sorted(error["field"] for error in refused["fieldErrors"])
    assert fields == ["strategyOptions.batchSize", "strategyOptions.noSuchOption"]


async def test_a_compile_counts_its_compute_against_the_quota(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    usage = "{ organization { computeUsedSeconds } }"
    fake_lm.latency_ms = 5
    program_id, _ = await dspy_setup(client, fake_lm)
    before = (await client.data(usage))["organization"]["computeUsedSeconds"]

    run = await compile_run(client, program_id, "DSPY_BOOTSTRAP_FEW_SHOT")
    done = await finished(app, tenant.admin_key, run["id"])
    after = (await client.data(usage))["organization"]["computeUsedSeconds"]

    assert done["status"] == "COMPLETED"
    assert after - before >= done["durationSeconds"] * 0.5


async def test_a_compile_stops_once_the_organization_has_used_its_quota(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM, settings: Settings
) -> None:
    usage = "{ organization { computeUsedSeconds } }"
    fake_lm.latency_ms = 5
    program_id, _ = await dspy_setup(client, fake_lm)
    before = (await client.data(usage))["organization"]["computeUsedSeconds"]
    await set_quota(settings, tenant.slug, before + 0.1)

    run = await compile_run(
        client, program_id, "DSPY_MIPRO_V2", strategyOptions={"numCandidates": 6, "numTrials": 30}
    )
    done = await finished(app, tenant.admin_key, run["id"])

    assert done["status"] == "COMPLETED", done["error"]
    assert done["results"]["stopReason"] == "compute_quota"

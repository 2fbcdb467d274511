"""A DSPy compile whose service process is SIGKILLed compiles again from the start in the next
process: the evaluations stored before the kill are kept, none is numbered twice, and the run
completes. Real processes on loopback; the service's API keys are encrypted with the key file it
generated itself (the loopback development default), which the next process reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dspy_programs.conftest import API_KEY, training_data
from tests.support.fake_lm import FakeLM
from tests.support.processes import STARTUP_SECONDS, Server, clean_env, polled

SETUP = """mutation($url: String!, $key: String!) {
  createLanguageModel(input: {name: "fake", model: "openai/fake", baseUrl: $url, apiKey: $key}) {
    __typename ... on Error { message } }
  createVariableSpace(input: {name: "t", variables: [{name: "temperature", type: FLOAT,
    constraints: {min: 0, max: 1}}]}) { ... on VariableSpace { id } } }"""
PROGRAM = """mutation($space: ID!) { createProgram(input: {name: "compiled", adapter: "dspy",
  signatureSpec: "question -> answer", configuration: {lm: "fake"}, initialize: true,
  variableSpaceId: $space}) { ... on Program { id status errorMessage } } }"""
START = """mutation($program: ID!, $training: [JSON!]!) { startOptimization(input: {
  programId: $program, name: "crash", strategy: DSPY_MIPRO_V2, trainingData: $training,
  strategyOptions: {numCandidates: 3, numTrials: 8}, concurrency: 1 }) {
  __typename ... on OptimizationRun { id } ... on Error { message } } }"""
RUN = """query($id: ID!) { optimizationRun(id: $id) { status error results bestScore
  evaluations(first: 500) { nodes { id iteration } } } }"""


@pytest.fixture
def fake_lm() -> Iterator[FakeLM]:
    with FakeLM(api_key=API_KEY, latency_ms=15, keep_bodies=False) as server:
        yield server


async def until(server: Server, key: str, run_id: str, done: Any) -> dict[str, Any]:
    """The run once `done(run)` holds, read through `server` (another process runs it)."""
    return await polled(server, key, RUN, "optimizationRun", run_id, done)


async def test_a_killed_compile_compiles_again_and_keeps_what_was_stored(
    tmp_path: Path, fake_lm: FakeLM
) -> None:
    first = Server(tmp_path, clean_env())
    try:
        first.wait_ready()
        setup = await first.graphql(SETUP, url=fake_lm.base_url, key=API_KEY)
        program = await first.graphql(PROGRAM, space=setup["createVariableSpace"]["id"])
        assert program["createProgram"]["status"] == "READY", program
        run = (
            await first.graphql(
                START, program=program["createProgram"]["id"], training=training_data()
            )
        )["startOptimization"]
        assert "id" in run, run
        key = first.printed_keys()[0]
        before = await until(first, key, run["id"], lambda s: len(s["evaluations"]["nodes"]) >= 3)
    finally:
        first.kill()
        first.process.wait(timeout=STARTUP_SECONDS)

    second = Server(tmp_path, clean_env(), log="second.log")
    try:
        second.wait_ready()
        done = await until(second, key, run["id"], lambda s: s["status"] != "RUNNING")
    finally:
        second.stop()

    kept = {node["id"] for node in done["evaluations"]["nodes"]}
    iterations = [node["iteration"] for node in done["evaluations"]["nodes"]]
    assert before["status"] == "RUNNING", "killed mid-compile"
    assert done["status"] == "COMPLETED", done
    assert {node["id"] for node in before["evaluations"]["nodes"]} <= kept
    assert sorted(iterations) == list(range(len(iterations))), "none twice, none missing"
    assert done["results"]["stopReason"] == "compiled"
    assert done["bestScore"] >= done["results"]["baselineScore"]

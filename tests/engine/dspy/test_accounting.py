"""Tokens, cost and the trace of a run: its own LM calls only, and never a secret."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from dspy.clients.base_lm import GLOBAL_HISTORY

from dspex_gql.engine.adapters import AdapterResult, ProgramType
from dspex_gql.engine.adapters.dspy import build_module
from dspex_gql.engine.adapters.dspy.calls import MAX_TEXT, bounded_messages, bounded_text
from dspex_gql.engine.adapters.dspy.lm import language_model
from tests.engine.dspy.helpers import KNOWLEDGE, fast_adapter, request_for, spec_for
from tests.support.fake_lm import FakeLM

SECRET = "sk-secret-5f0c1d2e3a4b"


def everything_in(result: AdapterResult) -> str:
    return repr(result) + json.dumps(dataclasses.asdict(result))


async def test_tokens_and_cost_come_from_the_calls_and_our_prices(fake: FakeLM) -> None:
    spec = spec_for(fake, prompt_price_per_million=2.0, completion_price_per_million=8.0)
    configuration = {"tools": ["calculator"], "max_iters": 1}
    request = request_for(spec, program_type=ProgramType.REACT, configuration=configuration)

    result = await fast_adapter().run(request)

    assert result.trace is not None
    calls = result.trace["calls"]
    assert len(calls) == 2
    assert result.prompt_tokens == sum(call["prompt_tokens"] for call in calls) > 0
    assert result.completion_tokens == sum(call["completion_tokens"] for call in calls) > 0
    expected = (result.prompt_tokens * 2.0 + result.completion_tokens * 8.0) / 1e6
    assert result.cost == pytest.approx(expected)
    assert result.metadata == {"adapter": "dspy", "model": "openai/fake-model", "lm_calls": 2}


async def test_a_model_without_prices_costs_what_dspy_estimates_or_nothing(fake: FakeLM) -> None:
    result = await fast_adapter().run(request_for(spec_for(fake)))

    assert result.prompt_tokens > 0
    assert result.cost == 0.0  # DSPy has no price for "fake-model"


async def test_the_trace_shows_each_call_of_the_run(fake: FakeLM) -> None:
    result = await fast_adapter().run(request_for(spec_for(fake)))

    assert result.trace is not None
    assert {key: result.trace[key] for key in ("adapter", "model", "language_model")} == {
        "adapter": "dspy",
        "model": "openai/fake-model",
        "language_model": "fast",
    }
    [call] = result.trace["calls"]
    assert [message["role"] for message in call["messages"]] == ["system", "user"]
    assert "What is 2 + 2?" in call["messages"][1]["content"]
    assert call["response"] == "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"
    assert call["model"] == "fake-model"
    assert call["latency_ms"] > 0
    assert call["attempt"] == 1


async def test_concurrent_runs_on_one_model_trace_only_their_own_calls(fake: FakeLM) -> None:
    spec = spec_for(fake)
    questions = [*KNOWLEDGE, "Who wrote Hamlet?"] * 4

    results = await asyncio.gather(
        *(fast_adapter().run(request_for(spec, inputs={"question": q})) for q in questions)
    )

    for question, result in zip(questions, results, strict=True):
        assert result.trace is not None
        [call] = result.trace["calls"]
        assert question in call["messages"][-1]["content"]


async def test_no_api_key_anywhere_in_a_result() -> None:
    with FakeLM(KNOWLEDGE, learner=False, api_key=SECRET) as fake:
        spec = spec_for(fake)
        assert spec.api_key == SECRET
        for program_type in (ProgramType.PREDICT, ProgramType.REACT):
            configuration = {"tools": ["calculator"], "max_iters": 1}
            request = request_for(spec, program_type=program_type, configuration=configuration)

            result = await fast_adapter().run(request)

            assert SECRET not in everything_in(result)
            assert "authorization" not in everything_in(result).lower()


def test_messages_and_texts_are_bounded() -> None:
    long = "x" * (MAX_TEXT + 10)
    messages = [{"role": "user", "content": long}] * 30

    shown = bounded_messages(messages)

    assert len(shown) == 25
    assert shown[0]["content"] == "x" * MAX_TEXT + "… [10 more characters]"
    assert shown[-1] == {"role": "note", "content": "6 more messages"}
    assert bounded_text("abcdef", 3) == "abc… [3 more characters]"
    assert bounded_messages([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]) == [
        {"role": "user", "content": "hi"}
    ]


async def test_runs_leave_nothing_in_dspy_s_shared_histories(fake: FakeLM) -> None:
    spec = spec_for(fake)
    request = request_for(spec, program_type=ProgramType.CHAIN_OF_THOUGHT)
    before = len(GLOBAL_HISTORY)

    await fast_adapter().run(request)

    module = await build_module(request)
    assert len(GLOBAL_HISTORY) == before
    assert module.history == module.predict.history == []
    assert language_model(spec, {}).history == []

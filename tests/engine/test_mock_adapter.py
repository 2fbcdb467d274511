from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

import pytest

from dspex_gql.engine.adapters import (
    Adapter,
    AdapterError,
    AdapterRegistry,
    AdapterRequest,
    AdapterResult,
    MockAdapter,
    NotRegistered,
    ProgramType,
)
from dspex_gql.engine.adapters.base import canonical_json
from dspex_gql.engine.adapters.dspy import DspyAdapter
from dspex_gql.engine.adapters.mock import MOCK_CONTROL_KEYS
from dspex_gql.engine.signatures import ParsedSignature, parse_signature
from dspex_gql.engine.types import check_value

QA = parse_signature("question -> answer")
ALL_TYPES = parse_signature(
    "question -> text: str, count: int, score: float, ok: bool, meta: dict, "
    "tags: list[str], grid: list[list[int]], label: Literal['yes', 'no', 3], "
    "choices: list[Literal['a', 'b']]"
)


def request(
    inputs: Mapping[str, Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
    *,
    signature: ParsedSignature = QA,
    program_type: ProgramType = ProgramType.PREDICT,
    instructions: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> AdapterRequest:
    return AdapterRequest(
        program_type=program_type,
        signature=signature,
        instructions=instructions,
        inputs={"question": "What is 2 + 2?"} if inputs is None else inputs,
        configuration=configuration or {},
        options=options or {},
    )


async def run(adapter_request: AdapterRequest) -> AdapterResult:
    return await MockAdapter().run(adapter_request)


def test_mock_adapter_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = MockAdapter()

    assert adapter.name == "mock"


# -- outputs ------------------------------------------------------------------------------------


async def test_same_inputs_and_configuration_give_the_same_outputs() -> None:
    configuration = {"temperature": 0.7}

    first = await run(request(configuration=configuration))
    again = await MockAdapter().run(request(configuration=dict(configuration)))

    assert first == again


async def test_configuration_and_inputs_change_the_outputs() -> None:
    base = await run(request(signature=ALL_TYPES, configuration={"temperature": 0.1}))
    warmer = await run(request(signature=ALL_TYPES, configuration={"temperature": 0.9}))
    other_model = await run(request(signature=ALL_TYPES, configuration={"model": "mock-2"}))
    other_question = await run(request({"question": "Why?"}, signature=ALL_TYPES))

    assert base.outputs != warmer.outputs
    assert base.outputs != other_model.outputs
    assert warmer.outputs != other_question.outputs


async def test_default_model_is_the_same_as_naming_it() -> None:
    implicit = await run(request())
    explicit = await run(request(configuration={"model": "mock-1"}))

    assert implicit.outputs == explicit.outputs
    assert implicit.metadata == {"adapter": "mock", "model": "mock-1"}


async def test_control_keys_do_not_change_the_outputs() -> None:
    plain = await run(request(signature=ALL_TYPES))
    controlled = await run(
        request(
            signature=ALL_TYPES,
            configuration={"latency_ms": 0, "fail_seed": 4, "prompt_price_per_1k": 2.0},
        )
    )

    assert plain.outputs == controlled.outputs


async def test_every_output_has_a_value_of_its_type() -> None:
    for number in range(30):
        result = await run(request({"question": f"q{number}"}, signature=ALL_TYPES))

        assert list(result.outputs) == list(ALL_TYPES.output_names)
        for field in ALL_TYPES.outputs:
            value = result.outputs[field.name]
            assert check_value(field.field_type, value) is None, (field, value)


async def test_generated_values_stay_in_their_ranges() -> None:
    results = [
        await run(request({"question": f"q{number}"}, signature=ALL_TYPES)) for number in range(60)
    ]
    outputs = [result.outputs for result in results]

    assert all(0 <= o["count"] <= 999 for o in outputs)
    assert all(0 <= o["score"] < 1 and round(o["score"], 4) == o["score"] for o in outputs)
    assert all(1 <= len(o["tags"]) <= 3 and 1 <= len(o["grid"]) <= 3 for o in outputs)
    assert {o["ok"] for o in outputs} == {True, False}
    assert {o["label"] for o in outputs} == {"yes", "no", 3}
    assert all(o["text"].startswith("text: ") for o in outputs)


async def test_chain_of_thought_adds_reasoning() -> None:
    result = await run(request(program_type=ProgramType.CHAIN_OF_THOUGHT))

    assert list(result.outputs) == ["reasoning", "answer"]
    assert isinstance(result.outputs["reasoning"], str)
    assert result.outputs["reasoning"]


async def test_chain_of_thought_keeps_a_declared_reasoning_field() -> None:
    signature = parse_signature("question -> reasoning: int, answer")

    result = await run(request(signature=signature, program_type=ProgramType.CHAIN_OF_THOUGHT))

    assert list(result.outputs) == ["reasoning", "answer"]
    assert isinstance(result.outputs["reasoning"], int)


async def test_react_adds_a_trajectory() -> None:
    result = await run(request(program_type=ProgramType.REACT))

    trajectory = result.outputs["trajectory"]
    assert 1 <= len(trajectory) <= 3
    assert all(set(step) == {"thought", "action", "observation"} for step in trajectory)
    assert all(isinstance(value, str) for step in trajectory for value in step.values())
    assert trajectory[-1]["action"] == "finish"


@pytest.mark.parametrize("program_type", [ProgramType.PREDICT, ProgramType.CUSTOM])
async def test_predict_and_custom_add_nothing(program_type: ProgramType) -> None:
    result = await run(request(program_type=program_type))

    assert list(result.outputs) == ["answer"]


async def test_signature_outputs_do_not_depend_on_the_program_type() -> None:
    predict = await run(request())
    chain = await run(request(program_type=ProgramType.CHAIN_OF_THOUGHT))

    assert chain.outputs["answer"] == predict.outputs["answer"]


# -- failures -----------------------------------------------------------------------------------


async def test_fail_on_matching_inputs_fails_the_run() -> None:
    fail_on = {"question": "boom"}

    with pytest.raises(AdapterError, match="Mock failure injected: inputs match fail_on"):
        await run(request({"question": "boom"}, {"fail_on": fail_on}))
    assert (await run(request({"question": "fine"}, {"fail_on": fail_on}))).outputs


async def test_fail_on_needs_every_key_to_match() -> None:
    signature = parse_signature("a, b -> c")
    fail_on = {"a": "x", "b": "y"}

    with pytest.raises(AdapterError):
        await run(request({"a": "x", "b": "y"}, {"fail_on": fail_on}, signature=signature))
    assert await run(request({"a": "x", "b": "z"}, {"fail_on": fail_on}, signature=signature))
    assert await run(request({"a": "x", "b": "y"}, {"fail_on": {}}, signature=signature))


async def outcomes(fail_rate: float, fail_seed: int, count: int = 400) -> list[bool]:
    """Whether each of `count` distinct questions fails."""
    configuration = {"fail_rate": fail_rate, "fail_seed": fail_seed}
    errors: list[str | None] = []
    for number in range(count):
        try:
            await run(request({"question": f"question {number}"}, configuration))
        except AdapterError as error:
            errors.append(str(error))
        else:
            errors.append(None)
    assert set(errors) <= {None, f"Mock failure injected (fail_rate={fail_rate})"}
    return [error is not None for error in errors]


async def test_fail_rate_fails_about_that_share_of_inputs_deterministically() -> None:
    first = await outcomes(0.3, fail_seed=7)

    assert 0.22 <= sum(first) / len(first) <= 0.38
    assert await outcomes(0.3, fail_seed=7) == first
    assert await outcomes(0.3, fail_seed=8) != first


async def test_raising_fail_rate_only_adds_failures() -> None:
    low, high = await outcomes(0.2, 1), await outcomes(0.6, 1)

    assert all(failed_high for failed_low, failed_high in zip(low, high, strict=True) if failed_low)
    assert sum(high) > sum(low)


async def test_fail_rate_extremes() -> None:
    assert not any(await outcomes(0.0, 0, count=50))
    assert all(await outcomes(1.0, 0, count=50))


async def test_invalid_configuration_fails_the_run() -> None:
    with pytest.raises(AdapterError, match="Invalid mock configuration: fail_rate must be"):
        await run(request(configuration={"fail_rate": 2}))


# -- quality landscape --------------------------------------------------------------------------

LANDSCAPE = {"kind": "distance", "optimum": {"temperature": 0.7, "model": "gpt-4"}, "width": 0.5}
AT_OPTIMUM = {"temperature": 0.7, "model": "gpt-4", "landscape": LANDSCAPE}


def example(number: int) -> tuple[dict[str, str], dict[str, str]]:
    return {"question": f"question {number}"}, {"answer": f"answer {number}"}


async def score(configuration: Mapping[str, Any], count: int) -> float:
    """The share of `count` examples the mock answers with the expected outputs."""
    right = 0
    for number in range(count):
        inputs, expected = example(number)
        result = await run(request(inputs, configuration, options={"expected": expected}))
        right += result.outputs == expected
    return right / count


async def test_landscape_at_the_optimum_answers_every_example() -> None:
    assert await score(AT_OPTIMUM, 50) == 1.0


async def test_landscape_far_from_the_optimum_answers_almost_none() -> None:
    assert await score({**AT_OPTIMUM, "temperature": 3.0, "model": "gpt-3.5"}, 50) <= 0.02


async def test_landscape_score_falls_monotonically_away_from_the_optimum() -> None:
    temperatures = [0.7 + step / 10 for step in range(13)]
    scores = [await score({**AT_OPTIMUM, "temperature": t}, 200) for t in temperatures]

    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0
    assert scores[-1] < 0.2
    for temperature, achieved in zip(temperatures, scores, strict=True):
        p = math.exp(-((temperature - 0.7) ** 2) / (2 * 0.5**2))
        assert achieved == pytest.approx(p, abs=0.1)


async def test_landscape_metadata_reports_the_probability() -> None:
    inputs, expected = example(1)
    configuration = {**AT_OPTIMUM, "temperature": 1.2}

    with_expected = await run(request(inputs, configuration, options={"expected": expected}))
    without = await run(request(inputs, configuration))

    assert with_expected.metadata["landscape_p"] == pytest.approx(math.exp(-0.5))
    assert without.metadata["landscape_p"] == pytest.approx(math.exp(-0.5))
    assert with_expected.metadata["adapter"] == "mock"


async def test_landscape_without_expected_outputs_changes_nothing() -> None:
    for number in range(20):
        inputs = {"question": f"question {number}"}
        plain = await run(
            request(inputs, {"temperature": 0.7, "model": "gpt-4"}, signature=ALL_TYPES)
        )
        shaped = await run(request(inputs, AT_OPTIMUM, signature=ALL_TYPES))

        assert shaped.outputs == plain.outputs
        assert shaped.completion_tokens == plain.completion_tokens


async def test_expected_outputs_without_a_landscape_change_nothing() -> None:
    inputs, expected = example(2)

    plain = await run(request(inputs))
    with_expected = await run(request(inputs, options={"expected": expected}))

    assert with_expected == plain
    assert "landscape_p" not in with_expected.metadata


async def test_landscape_answers_only_the_expected_fields() -> None:
    signature = parse_signature("question -> answer, confidence: float")
    inputs = {"question": "Why?"}
    options = {"expected": {"answer": "because", "unknown": 1}}

    plain = await run(request(inputs, {"temperature": 0.7, "model": "gpt-4"}, signature=signature))
    right = await run(request(inputs, AT_OPTIMUM, signature=signature, options=options))

    assert right.outputs == {"answer": "because", "confidence": plain.outputs["confidence"]}


async def test_wrong_answers_are_todays_outputs() -> None:
    inputs, expected = example(3)
    far = {**AT_OPTIMUM, "temperature": 5.0}

    plain = await run(request(inputs, {"temperature": 5.0, "model": "gpt-4"}))
    wrong = await run(request(inputs, far, options={"expected": expected}))

    assert wrong.outputs == plain.outputs != expected


async def answered(configuration: Mapping[str, Any], count: int = 200) -> list[bool]:
    results = []
    for number in range(count):
        inputs, expected = example(number)
        result = await run(request(inputs, configuration, options={"expected": expected}))
        results.append(result.outputs == expected)
    return results


async def test_landscape_seed_picks_which_examples_not_how_many() -> None:
    halfway = {**AT_OPTIMUM, "temperature": 0.7 + 0.5 * math.sqrt(2 * math.log(2))}  # p = 0.5
    seeded = {**halfway, "landscape": {**LANDSCAPE, "seed": 1}}

    first, again, other = await answered(halfway), await answered(halfway), await answered(seeded)

    assert first == again
    assert first != other
    assert 0.4 <= sum(first) / 200 <= 0.6
    assert 0.4 <= sum(other) / 200 <= 0.6


async def test_branin_landscape_scores_about_p() -> None:
    landscape = {"kind": "branin", "x": "x1", "y": "x2", "tau": 10}
    configuration = {"x1": math.pi, "x2": 5.0, "landscape": landscape}  # f = 2.725² + f_min

    result = await run(request(configuration=configuration))
    p = result.metadata["landscape_p"]

    assert p == pytest.approx(math.exp(-(2.725**2) / 10))
    assert await score(configuration, 200) == pytest.approx(p, abs=0.1)


async def test_missing_landscape_variable_fails_only_when_answering() -> None:
    configuration = {"x1": 1.0, "landscape": {"kind": "branin", "x": "x1", "y": "x2"}}
    inputs, expected = example(4)

    with pytest.raises(AdapterError, match=r"^landscape variable 'x2' is missing or not a number$"):
        await run(request(inputs, configuration, options={"expected": expected}))
    result = await run(request(inputs, configuration))
    assert "landscape_p" not in result.metadata


async def test_bad_landscape_fails_the_run() -> None:
    with pytest.raises(AdapterError, match=r"Invalid mock configuration: landscape\.kind must be"):
        await run(request(configuration={"landscape": {"kind": "flat"}}))


def test_landscape_is_a_control_key() -> None:
    assert "landscape" in MOCK_CONTROL_KEYS


def test_check_configuration_accepts_landscapes() -> None:
    adapter = MockAdapter()
    hartmann = {"kind": "hartmann6", "variables": ["a", "b", "c", "d", "e", "f"], "seed": 2}

    assert adapter.check_configuration({"landscape": LANDSCAPE}) == []
    assert adapter.check_configuration({"landscape": hartmann}) == []
    # The landscape's variables may come from a variable configuration merged in later.
    assert adapter.check_configuration({"landscape": {"kind": "branin", "x": "a", "y": "b"}}) == []


def test_check_configuration_reports_a_bad_landscape() -> None:
    problems = MockAdapter().check_configuration(
        {"fail_rate": 3, "landscape": {"kind": "distance", "optimum": {"t": 1}, "width": -1}}
    )

    assert problems == ["fail_rate must be between 0 and 1", "landscape.width must be a number > 0"]
    assert MockAdapter().check_configuration({"landscape": "yes"}) == [
        "landscape must be an object"
    ]


# -- accounting and latency ---------------------------------------------------------------------


async def test_tokens_and_cost_follow_the_text_lengths_and_prices() -> None:
    signature = parse_signature("question, context: list[str] -> answer, confidence: float")
    inputs = {"question": "Who?", "context": ["a", "b"]}
    prices = {"prompt_price_per_1k": 0.5, "completion_price_per_1k": 2.0}

    result = await run(request(inputs, prices, signature=signature, instructions="Be brief."))

    prompt_text = canonical_json(inputs) + "Be brief." + "questioncontextanswerconfidence"
    assert result.prompt_tokens == math.ceil(len(prompt_text) / 4)
    assert result.completion_tokens == math.ceil(len(canonical_json(result.outputs)) / 4)
    expected = result.prompt_tokens / 1000 * 0.5 + result.completion_tokens / 1000 * 2.0
    assert result.cost == pytest.approx(expected)
    assert result.cost > 0


async def test_tokens_are_at_least_one_and_cost_defaults_to_zero() -> None:
    signature = parse_signature("a: dict -> b: bool")

    result = await run(request({"a": {}}, signature=signature))

    assert result.prompt_tokens >= 1
    assert result.completion_tokens >= 1
    assert result.cost == 0


async def test_trace_summarises_the_call() -> None:
    result = await run(
        request(program_type=ProgramType.REACT, instructions="Answer well.", configuration={})
    )

    assert result.trace is not None
    assert result.trace["adapter"] == "mock"
    assert result.trace["model"] == "mock-1"
    assert result.trace["program_type"] == "REACT"
    assert "Answer well." in result.trace["prompt"]
    assert "question -> answer" in result.trace["prompt"]


async def test_latency_is_awaited() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    await run(request(configuration={"latency_ms": 60}))

    assert loop.time() - started >= 0.059  # the loop may wake one clock tick early


async def test_latency_yields_to_other_tasks() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await run(request(configuration={"latency_ms": 5}))

    assert ran == ["other"]
    await task


# -- configuration checks -----------------------------------------------------------------------


def test_valid_configuration_has_no_problems() -> None:
    configuration = {
        "model": "mock-x",
        "latency_ms": 12.5,
        "fail_rate": 0.25,
        "fail_seed": 3,
        "fail_on": {"question": "x"},
        "prompt_price_per_1k": 0,
        "completion_price_per_1k": 1.5,
        "temperature": "anything else is ignored",
    }

    assert MockAdapter().check_configuration(configuration) == []


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("model", 3, "model must be a non-empty string"),
        ("model", "", "model must be a non-empty string"),
        ("latency_ms", -1, "latency_ms must be a number >= 0"),
        ("latency_ms", "10", "latency_ms must be a number >= 0"),
        ("latency_ms", True, "latency_ms must be a number >= 0"),
        ("latency_ms", math.inf, "latency_ms must be a number >= 0"),
        ("fail_rate", 1.5, "fail_rate must be between 0 and 1"),
        ("fail_rate", -0.1, "fail_rate must be between 0 and 1"),
        ("fail_rate", None, "fail_rate must be between 0 and 1"),
        ("fail_seed", 1.5, "fail_seed must be an integer"),
        ("fail_seed", False, "fail_seed must be an integer"),
        ("fail_on", ["question"], "fail_on must be an object"),
        ("prompt_price_per_1k", -0.01, "prompt_price_per_1k must be a number >= 0"),
        ("completion_price_per_1k", "1", "completion_price_per_1k must be a number >= 0"),
    ],
)
def test_check_configuration_reports_problems(key: str, value: Any, problem: str) -> None:
    assert MockAdapter().check_configuration({key: value}) == [problem]


def test_check_configuration_reports_every_problem() -> None:
    problems = MockAdapter().check_configuration({"latency_ms": -5, "fail_on": "x"})

    assert problems == ["latency_ms must be a number >= 0", "fail_on must be an object"]


# -- registry -----------------------------------------------------------------------------------


def test_default_registry_holds_the_mock_and_dspy() -> None:
    registry = AdapterRegistry.default()

    assert registry.names() == ["dspy", "mock"]
    assert "mock" in registry
    assert "openai" not in registry
    assert isinstance(registry.get("mock"), MockAdapter)
    assert isinstance(registry.get("dspy"), DspyAdapter)


def test_unknown_adapter_is_a_clear_key_error() -> None:
    registry = AdapterRegistry.default()

    with pytest.raises(KeyError) as caught:
        registry.get("gpt")

    assert isinstance(caught.value, NotRegistered)
    assert str(caught.value) == "unknown adapter 'gpt'; available: dspy, mock"
    with pytest.raises(KeyError, match="available: none"):
        AdapterRegistry().get("mock")


def test_registry_lists_names_sorted_and_refuses_duplicates() -> None:
    class Named(MockAdapter):
        name = "alpha"

    registry = AdapterRegistry.default()
    registry.register(Named())

    assert registry.names() == ["alpha", "dspy", "mock"]
    with pytest.raises(ValueError, match="'mock' is already registered"):
        registry.register(MockAdapter())

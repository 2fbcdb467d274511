"""Each program type runs as its DSPy module against the fake and answers with typed outputs."""

from __future__ import annotations

import pytest

from dspex_gql.engine.adapters import AdapterRegistry, NotRegistered, ProgramType
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.invoke import ProgramInvoker
from tests.engine.dspy.helpers import TYPED, TYPED_ANSWER, fast_adapter, request_for, spec_for
from tests.support.fake_lm import FakeLM


async def test_predict_answers_with_typed_outputs(fake: FakeLM) -> None:
    request = request_for(spec_for(fake), signature=TYPED)

    result = await fast_adapter().run(request)

    assert result.outputs == TYPED_ANSWER
    assert fake.stats.requests == 1


async def test_chain_of_thought_adds_the_reasoning(fake: FakeLM) -> None:
    program_type = ProgramType.CHAIN_OF_THOUGHT
    request = request_for(spec_for(fake), signature=TYPED, program_type=program_type)

    result = await fast_adapter().run(request)

    assert result.outputs == {"reasoning": "Thinking it through.", **TYPED_ANSWER}


async def test_react_calls_the_configured_tool_and_reports_its_trajectory(fake: FakeLM) -> None:
    configuration = {"tools": ["calculator"], "max_iters": 2}
    request = request_for(
        spec_for(fake), program_type=ProgramType.REACT, configuration=configuration
    )

    result = await fast_adapter().run(request)

    step = {
        "thought": "Thinking it through.",
        "tool_name": "calculator",
        "tool_args": {"expression": "2 + 2"},
        "observation": "4",
    }
    assert result.outputs["trajectory"] == [step, step]
    assert result.outputs["answer"] == "4"
    assert fake.stats.requests == 3  # two steps, then the extraction


async def test_custom_runs_the_registered_dspy_module(fake: FakeLM) -> None:
    request = request_for(
        spec_for(fake),
        signature=TYPED,
        program_type=ProgramType.CUSTOM,
        implementation="self_check",
    )

    result = await fast_adapter().run(request)

    assert result.outputs == {"reasoning": "Thinking it through.", **TYPED_ANSWER}
    assert fake.stats.requests == 2  # the draft, then the check that accepts it


async def test_self_check_revises_a_draft_the_check_rejects() -> None:
    with FakeLM({"Q?": {"answer": "draft", "correct": False, "feedback": "wrong"}}) as fake:
        request = request_for(
            spec_for(fake),
            inputs={"question": "Q?"},
            program_type=ProgramType.CUSTOM,
            implementation="self_check",
        )

        result = await fast_adapter().run(request)

        assert fake.stats.requests == 3
        revise_prompt = str(fake.stats.bodies[-1]["messages"])
        assert "wrong" in revise_prompt
        assert result.outputs["answer"] == "I do not know"  # a learner without demos


async def test_the_instructions_and_descriptions_reach_the_prompt(fake: FakeLM) -> None:
    request = request_for(spec_for(fake), instructions="Be terse, like a telegram.")

    await fast_adapter().run(request)

    system = fake.stats.bodies[0]["messages"][0]["content"]
    assert "Be terse, like a telegram." in system
    assert "a short answer" in system
    assert "a question" in system


async def test_request_parameters_override_the_model_defaults(fake: FakeLM) -> None:
    spec = spec_for(fake, defaults={"temperature": 0.7, "max_tokens": 100, "api_base": "x"})
    configuration = {"temperature": 0.1, "seed": 7, "samples": 3}

    await fast_adapter().run(request_for(spec))
    await fast_adapter().run(request_for(spec, configuration=configuration))

    first, second = fake.stats.bodies
    # DSPy's native OpenAI route sends max_tokens as max_completion_tokens.
    assert (first["temperature"], first["max_completion_tokens"]) == (0.7, 100)
    assert (second["temperature"], second["max_completion_tokens"]) == (0.1, 100)
    assert second["seed"] == 7
    assert "samples" not in second
    assert "api_base" not in first


async def test_the_invoker_gives_a_custom_dspy_program_to_the_dspy_adapter(fake: FakeLM) -> None:
    adapters = AdapterRegistry()
    adapters.register(fast_adapter())
    invoke = ProgramInvoker(adapters, CustomProgramRegistry.from_entry_points())
    request = request_for(spec_for(fake), program_type=ProgramType.CUSTOM)

    result = await invoke("dspy", "self_check", request)

    assert result.outputs == {"reasoning": "Thinking it through.", "answer": "4"}
    with pytest.raises(NotRegistered, match="unknown program implementation 'nope'"):
        await invoke("dspy", "nope", request)

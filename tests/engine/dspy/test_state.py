"""Compiled states: demos teach the scripted learner; states export, save, check and load."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dspex_gql.engine.adapters import AdapterError, ProgramType
from dspex_gql.engine.adapters.dspy import (
    build_module,
    export_state,
    module_problems,
    state_problems,
)
from dspex_gql.engine.adapters.dspy.loader import load_dspy_sync
from dspex_gql.engine.adapters.dspy.signatures import dspy_signature
from dspex_gql.engine.signatures import parse_signature
from tests.engine.dspy.helpers import KNOWLEDGE, QA, fast_adapter, request_for, spec_for
from tests.support.fake_lm import FakeLM

CAPITAL = {"question": "What is the capital of France?"}
DEMO = {"question": "What is the capital of Italy?", "answer": "Rome"}
INSTRUCTIONS = "Answer briefly."
COT = ProgramType.CHAIN_OF_THOUGHT


def with_demos(program_type: ProgramType) -> dict[str, Any]:
    state = export_state(program_type, QA, INSTRUCTIONS)
    predictor = state if program_type == ProgramType.PREDICT else state["predict"]
    predictor["demos"] = [DEMO]
    return state


@pytest.mark.parametrize("program_type", [ProgramType.PREDICT, COT])
async def test_a_state_with_demos_makes_the_learner_answer(program_type: ProgramType) -> None:
    with FakeLM(KNOWLEDGE) as fake:
        spec = spec_for(fake)
        plain = request_for(spec, program_type=program_type, inputs=CAPITAL)
        taught = request_for(
            spec, program_type=program_type, inputs=CAPITAL, state=with_demos(program_type)
        )

        assert (await fast_adapter().run(plain)).outputs["answer"] == "I do not know"
        assert (await fast_adapter().run(taught)).outputs["answer"] == "Paris"


def test_export_state_is_dump_state_and_what_save_writes(tmp_path: Path) -> None:
    dspy = load_dspy_sync()
    state = with_demos(COT)
    module = dspy.ChainOfThought(dspy_signature(QA, INSTRUCTIONS))
    module.load_state(state)
    module.save(tmp_path / "program.json")

    saved = json.loads((tmp_path / "program.json").read_text())

    assert export_state(COT, QA, INSTRUCTIONS, state=state) == module.dump_state()
    assert export_state(COT, QA, INSTRUCTIONS, state=state, for_file=True) == saved
    assert set(saved) - set(module.dump_state()) == {"metadata"}
    assert state_problems(saved, COT, QA) == []


def test_an_exported_file_loads_into_dspy(tmp_path: Path) -> None:
    dspy = load_dspy_sync()
    path = tmp_path / "program.json"
    exported = export_state(COT, QA, INSTRUCTIONS, state=with_demos(COT), for_file=True)
    path.write_text(json.dumps(exported))
    module = dspy.ChainOfThought(dspy_signature(QA, INSTRUCTIONS))

    module.load(path)

    assert module.predict.demos == [DEMO]


async def test_a_saved_file_runs_as_the_program_state(tmp_path: Path) -> None:
    dspy = load_dspy_sync()
    module = dspy.ChainOfThought(dspy_signature(QA, INSTRUCTIONS))
    module.load_state(with_demos(COT))
    module.save(tmp_path / "program.json")
    saved = json.loads((tmp_path / "program.json").read_text())

    with FakeLM(KNOWLEDGE) as fake:
        request = request_for(spec_for(fake), program_type=COT, inputs=CAPITAL, state=saved)

        assert (await fast_adapter().run(request)).outputs["answer"] == "Paris"


def test_a_state_for_another_program_shape_is_refused() -> None:
    predict_state = export_state(ProgramType.PREDICT, QA)

    problems = state_problems(predict_state, COT, QA)

    assert problems[0] == "the state has no predictor 'predict'"
    assert "the state has a predictor 'demos' this program does not have" in problems


def test_a_state_for_another_signature_is_refused() -> None:
    state = export_state(ProgramType.PREDICT, parse_signature("question, context -> answer"))

    assert state_problems(state, ProgramType.PREDICT, QA) == [
        "the predictor: its signature has 3 fields, this program's has 2"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"config": {"api_base": "http://elsewhere"}}, "the predictor: unexpected key 'config'"),
        ({"demos": "many"}, "the predictor: demos must be a list"),
        ({"demos": [{"x": 1}]}, "the predictor: demo 0 must be an object with some of the fields"),
        ({"signature": {"fields": 3}}, "the predictor: the signature must be an object with"),
    ],
)
def test_malformed_predictor_states_are_refused(change: dict[str, Any], problem: str) -> None:
    state = export_state(ProgramType.PREDICT, QA) | change

    [found] = state_problems(state, ProgramType.PREDICT, QA)

    assert found.startswith(problem)


def test_a_state_that_is_not_an_object_is_refused() -> None:
    assert state_problems(["demos"], ProgramType.PREDICT, QA) == [
        "the state must be an object (what DSPy's dump_state() returns)"
    ]


async def test_a_state_s_language_model_is_never_loaded(fake: FakeLM) -> None:
    state = copy.deepcopy(with_demos(ProgramType.PREDICT))
    state["lm"] = {"model": "openai/gpt-4o", "api_base": "http://elsewhere/v1"}
    assert state_problems(state, ProgramType.PREDICT, QA) == []

    module = await build_module(request_for(spec_for(fake), state=state))

    assert module.lm is None
    assert module.demos == [DEMO]


async def test_built_modules_are_cached_by_what_shapes_them(fake: FakeLM) -> None:
    spec = spec_for(fake)

    first = await build_module(request_for(spec))
    again = await build_module(request_for(spec, configuration={"temperature": 0.3}))
    with_state = await build_module(request_for(spec, state=with_demos(ProgramType.PREDICT)))

    assert first is again
    assert with_state is not first


async def test_a_program_that_cannot_be_built_fails_its_run(fake: FakeLM) -> None:
    request = request_for(
        spec_for(fake), program_type=ProgramType.REACT, configuration={"tools": ["nope"]}
    )

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    assert str(caught.value) == (
        "The dspy program cannot be built: unknown tools nope; available: calculator"
    )
    assert fake.stats.requests == 0


def problems_of(
    program_type: ProgramType,
    spec: str = "question -> answer",
    configuration: dict[str, Any] | None = None,
    implementation: str | None = None,
    state: dict[str, Any] | None = None,
) -> list[str]:
    signature = parse_signature(spec)
    return module_problems(
        program_type, signature, None, configuration or {}, state, implementation
    )


def test_module_problems_accept_every_program_type_that_builds() -> None:
    assert problems_of(ProgramType.PREDICT) == []
    assert problems_of(COT) == []
    assert problems_of(ProgramType.REACT, configuration={"tools": ["calculator"]}) == []
    assert problems_of(ProgramType.CUSTOM, implementation="self_check") == []


def test_module_problems_name_what_does_not_build() -> None:
    assert problems_of(ProgramType.REACT, configuration={"tools": ["calculator", "web"]}) == [
        "unknown tools web; available: calculator"
    ]
    assert problems_of(ProgramType.CUSTOM, implementation="nope") == [
        "unknown dspy module 'nope'; available: self_check"
    ]
    assert problems_of(ProgramType.CUSTOM) == ["CUSTOM dspy programs name an implementation"]
    assert problems_of(COT, "question -> reasoning, answer") == [
        "CHAIN_OF_THOUGHT programs use the field names reasoning themselves"
    ]
    assert problems_of(ProgramType.PREDICT, "question -> json") == [
        "DSPy reserves the field names json"
    ]
    assert problems_of(ProgramType.PREDICT, state={"demos": 1}) == [
        "the predictor: the signature must be an object with a list of fields",
        "the predictor: demos must be a list",
    ]

"""DSPy's optimizers compiling a `question -> answer` program against the scripted-learner fake LM.

The fake LM knows every answer below but gives it only when the prompt carries a demonstration,
so the uncompiled program scores 0 and a program with few-shot demos scores 1.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from dspex_gql.engine.optimization import StrategyOptionsInvalid, exact_match
from dspex_gql.engine.optimization.dspy_compile import (
    CompileFailed,
    CompileProgress,
    CompileRequest,
    CompileResult,
    CompileStopped,
    DspyOptimizer,
    Prices,
    ProgressKind,
    StopReason,
    check_options,
    compile_program,
    dspy_feedback_metric,
    dspy_metric,
    to_dspy_examples,
)
from tests.support.fake_lm import FakeLM

dspy = pytest.importorskip("dspy")

CAPITALS = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Kenya": "Nairobi",
    "Peru": "Lima",
    "Norway": "Oslo",
    "Egypt": "Cairo",
    "Canada": "Ottawa",
    "Chile": "Santiago",
    "Ghana": "Accra",
    "Nepal": "Kathmandu",
}
KNOWLEDGE = {f"What is the capital of {country}?": {"answer": c} for country, c in CAPITALS.items()}
EXAMPLES = [{"inputs": {"question": q}, "expected": a} for q, a in KNOWLEDGE.items()]
SIGNATURE = "question -> answer"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLM]:
    with FakeLM(knowledge=KNOWLEDGE, keep_bodies=False) as server:
        yield server


@pytest.fixture(scope="module")
def slow_fake() -> Iterator[FakeLM]:
    """20 ms a reply: a compile lasts long enough to be stopped in the middle."""
    with FakeLM(knowledge=KNOWLEDGE, keep_bodies=False, latency_ms=20) as server:
        yield server


class Recorder:
    """`on_progress`: keeps every progress and the thread it was delivered on."""

    def __init__(self) -> None:
        self.items: list[CompileProgress] = []
        self.threads: set[int] = set()
        self.first = asyncio.Event()

    def __call__(self, progress: CompileProgress) -> None:
        asyncio.get_running_loop()  # raises unless called on the event loop
        self.items.append(progress)
        self.threads.add(threading.get_ident())
        self.first.set()

    def kinds(self) -> list[ProgressKind]:
        return [progress.kind for progress in self.items]


def language_model(fake: FakeLM) -> Any:
    return dspy.LM("openai/fake", api_base=fake.base_url, api_key="k", cache=False, num_retries=0)


def make_request(fake: FakeLM, optimizer: DspyOptimizer, **changes: Any) -> CompileRequest:
    request = CompileRequest(
        optimizer=optimizer,
        program=dspy.Predict(SIGNATURE),
        lm=language_model(fake),
        trainset=EXAMPLES,
        metric=exact_match,
        output_names=["answer"],
    )
    return replace(request, **changes)


async def run(request: CompileRequest) -> tuple[CompileResult, Recorder, float]:
    recorder = Recorder()
    started = time.perf_counter()
    result = await compile_program(request, recorder)
    return result, recorder, time.perf_counter() - started


def assert_ordered(recorder: Recorder, result: CompileResult) -> None:
    assert [p.step for p in recorder.items] == list(range(1, len(recorder.items) + 1))
    calls = [p.lm_calls for p in recorder.items]
    assert calls == sorted(calls)
    assert calls[-1] <= result.lm_calls
    assert recorder.threads == {threading.get_ident()}


async def test_bootstrap_few_shot_learns_from_demonstrations(fake: FakeLM) -> None:
    result, recorder, seconds = await run(make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT))

    assert result.baseline_score == 0.0
    assert result.score >= 0.8
    assert result.stop_reason is None
    kinds = recorder.kinds()
    assert kinds[0] is ProgressKind.BASELINE
    assert kinds[-1] is ProgressKind.FINAL
    assert kinds.count(ProgressKind.BOOTSTRAP) == 4  # one per example bootstrapped
    assert recorder.items[-1].score == result.score
    assert_ordered(recorder, result)
    assert result.lm_calls == 10 + 4 + 10
    print(f"BootstrapFewShot: {seconds:.2f} s, {len(recorder.items)} progress")


@pytest.mark.parametrize(
    ("optimizer", "options"),
    [
        (DspyOptimizer.DSPY_MIPRO_V2, {"numCandidates": 2, "numTrials": 3}),
        (DspyOptimizer.DSPY_SIMBA, {"batchSize": 4, "maxSteps": 2, "numCandidates": 2}),
        (DspyOptimizer.DSPY_GEPA, {"maxMetricCalls": 30, "reflectionMinibatchSize": 2}),
    ],
)
async def test_optimizer_runs_to_completion(
    fake: FakeLM, optimizer: DspyOptimizer, options: dict[str, Any]
) -> None:
    request = make_request(fake, optimizer, options=options)
    result, recorder, seconds = await run(request)

    assert result.stop_reason is None
    assert isinstance(result.state, dict)
    assert result.score >= result.baseline_score
    candidates = [
        p for p in recorder.items if p.kind in (ProgressKind.EVALUATION, ProgressKind.MINIBATCH)
    ]
    assert candidates
    assert all(p.score is not None and p.candidate_state for p in candidates)
    assert recorder.kinds()[0] is ProgressKind.BASELINE
    assert recorder.kinds()[-1] is ProgressKind.FINAL
    assert_ordered(recorder, result)
    print(f"{optimizer}: {seconds:.2f} s, {len(recorder.items)} progress, {result.lm_calls} calls")


@pytest.mark.parametrize(
    ("optimizer", "options"),
    [
        (DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT, {}),
        (DspyOptimizer.DSPY_MIPRO_V2, {"numCandidates": 4, "numTrials": 2}),
    ],
)
async def test_a_valset_is_what_gets_scored(
    fake: FakeLM, optimizer: DspyOptimizer, options: dict[str, Any]
) -> None:
    request = make_request(
        fake, optimizer, options=options, trainset=EXAMPLES[:6], valset=EXAMPLES[6:]
    )
    result, recorder, _ = await run(request)

    assert (result.baseline_score, result.score) == (0.0, 1.0)
    whole = [
        p for p in recorder.items if p.description and p.description.startswith("scored on all")
    ]
    assert whole
    assert {p.examples for p in whole} == {4}


async def test_compiled_state_loads_into_a_fresh_module(fake: FakeLM) -> None:
    result, recorder, _ = await run(make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT))
    stored = json.loads(json.dumps(result.state))  # as the service stores it
    json.dumps([progress.candidate_state for progress in recorder.items])

    fresh = dspy.Predict(SIGNATURE)
    fresh.load_state(stored)
    with dspy.context(lm=language_model(fake)):
        prediction = await fresh.acall(question="What is the capital of Ghana?")
    assert prediction.answer == "Accra"


async def test_lm_call_budget_returns_the_best_program_scored_so_far(fake: FakeLM) -> None:
    request = make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT, max_lm_calls=13)
    result, recorder, _ = await run(request)

    assert result.stop_reason is StopReason.MAX_LM_CALLS
    assert result.lm_calls == 13
    assert result.score == result.baseline_score == 0.0  # only the baseline was scored whole
    assert not result.state["demos"]
    assert recorder.kinds() == [ProgressKind.BASELINE] + [ProgressKind.BOOTSTRAP] * 3


async def test_a_budget_stop_keeps_a_better_candidate(fake: FakeLM) -> None:
    """MIPROv2 scores its trials on the whole scoring set: stopped after a perfect trial, the
    result is that trial's program."""
    options = {"numCandidates": 2, "numTrials": 4}
    request = make_request(fake, DspyOptimizer.DSPY_MIPRO_V2, options=options)
    _, full_run, _ = await run(request)
    perfect = next(
        p
        for p in full_run.items
        if p.kind is ProgressKind.EVALUATION and p.score == 1.0 and p.lm_calls > 0
    )

    result, _, _ = await run(replace(request, max_lm_calls=perfect.lm_calls + 1))

    assert result.stop_reason is StopReason.MAX_LM_CALLS
    assert result.score == 1.0
    assert result.baseline_score == 0.0
    assert result.state["demos"]


async def test_a_budget_spent_before_the_baseline_is_scored_fails(fake: FakeLM) -> None:
    request = make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT, max_lm_calls=3)
    with pytest.raises(CompileStopped) as stopped:
        await run(request)
    assert stopped.value.reason is StopReason.MAX_LM_CALLS
    assert stopped.value.lm_calls == 3


async def test_cost_is_priced_and_bounded(fake: FakeLM) -> None:
    prices = Prices(prompt_per_million=1_000.0, completion_per_million=2_000.0)
    request = make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT, prices=prices)
    result, recorder, _ = await run(request)
    assert result.cost > 0
    assert [p.cost for p in recorder.items] == sorted(p.cost for p in recorder.items)

    stopped, _, _ = await run(replace(request, max_cost=result.cost / 2))
    assert stopped.stop_reason is StopReason.MAX_COST
    assert stopped.lm_calls < result.lm_calls


async def test_timeout_stops_the_compile(slow_fake: FakeLM) -> None:
    options = {"numCandidates": 3, "numTrials": 20}
    request = make_request(
        slow_fake, DspyOptimizer.DSPY_MIPRO_V2, options=options, timeout_seconds=0.5
    )
    result, recorder, seconds = await run(request)
    assert result.stop_reason is StopReason.TIMEOUT
    assert 0.5 <= seconds < 1.0
    assert recorder.items[-1].kind is not ProgressKind.FINAL


@pytest.mark.parametrize("optimizer", list(DspyOptimizer))
async def test_cancelling_stops_the_thread_promptly(
    slow_fake: FakeLM, optimizer: DspyOptimizer
) -> None:
    fake = slow_fake
    options = {
        DspyOptimizer.DSPY_MIPRO_V2: {"numCandidates": 3, "numTrials": 20},
        DspyOptimizer.DSPY_SIMBA: {"batchSize": 4, "maxSteps": 20},
        DspyOptimizer.DSPY_GEPA: {"maxMetricCalls": 1000},
    }.get(optimizer, {})
    recorder = Recorder()
    request = make_request(fake, optimizer, options=options, num_threads=2)
    task = asyncio.create_task(compile_program(request, recorder))
    await recorder.first.wait()  # the baseline is scored: the optimizer is starting
    assert not task.done()

    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - cancelled_at < 1.0

    requests, delivered = fake.stats.requests, len(recorder.items)
    assert fake.stats.in_flight == 0
    await asyncio.sleep(0.3)  # time enough for a runaway thread to call the LM again
    assert fake.stats.requests == requests
    assert len(recorder.items) == delivered


async def test_an_unreachable_lm_fails_the_compile_after_the_baseline(fake: FakeLM) -> None:
    fake.fail_next(401, times=len(EXAMPLES))  # the baseline's calls
    requests = fake.stats.requests
    with pytest.raises(CompileFailed, match="every LM call failed"):
        await run(make_request(fake, DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT))
    assert fake.stats.requests == requests + len(EXAMPLES)


async def test_bad_options_are_refused_before_anything_runs(fake: FakeLM) -> None:
    requests = fake.stats.requests
    request = make_request(
        fake, DspyOptimizer.DSPY_SIMBA, options={"batchSize": 40, "maxSteps": 0, "speed": 1}
    )
    with pytest.raises(StrategyOptionsInvalid) as invalid:
        await run(request)
    fields = sorted(problem.field for problem in invalid.value.problems)
    assert fields == [
        "strategyOptions.batchSize",
        "strategyOptions.maxSteps",
        "strategyOptions.speed",
    ]
    assert fake.stats.requests == requests


@pytest.mark.parametrize(
    ("optimizer", "options", "fields"),
    [
        (DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT, {"maxRounds": 0, "maxLabeledDemos": -1}, 2),
        (DspyOptimizer.DSPY_MIPRO_V2, {"auto": "light", "numTrials": 5, "numCandidates": 2}, 2),
        (DspyOptimizer.DSPY_MIPRO_V2, {"auto": "huge", "minibatch": "yes"}, 2),
        (DspyOptimizer.DSPY_MIPRO_V2, {"minibatchSize": 11}, 1),
        (DspyOptimizer.DSPY_GEPA, {"auto": "light", "maxMetricCalls": 10}, 1),
        (DspyOptimizer.DSPY_GEPA, {"reflectionMinibatchSize": 11, "maxMetricCalls": 0}, 2),
    ],
)
def test_check_options_lists_every_problem(
    optimizer: DspyOptimizer, options: dict[str, Any], fields: int
) -> None:
    with pytest.raises(StrategyOptionsInvalid) as invalid:
        check_options(optimizer, options, example_count=10)
    assert len(invalid.value.problems) == fields


def test_check_options_accepts_the_defaults_and_small_settings() -> None:
    for optimizer in DspyOptimizer:
        check_options(optimizer, {}, example_count=10)
    check_options(DspyOptimizer.DSPY_MIPRO_V2, {"auto": "light"}, example_count=10)
    check_options(DspyOptimizer.DSPY_GEPA, {"auto": "medium"}, example_count=10)


def test_too_few_examples_are_reported() -> None:
    with pytest.raises(StrategyOptionsInvalid) as invalid:
        check_options(DspyOptimizer.DSPY_SIMBA, {}, example_count=1)
    assert [problem.field for problem in invalid.value.problems] == ["trainingData"]


def test_metric_bridge_compares_the_output_fields() -> None:
    example = to_dspy_examples([{"inputs": {"question": "2+2?"}, "expected": {"answer": "4"}}])[0]
    assert example.inputs().toDict() == {"question": "2+2?"}
    assert example.labels().toDict() == {"answer": "4"}

    metric = dspy_metric(exact_match, ["answer"])
    assert metric(example, dspy.Prediction(answer=" 4 ")) == 1.0
    assert metric(example, dspy.Prediction(answer="5"), None) == 0.0
    assert metric(example, None) == 0.0

    feedback = dspy_feedback_metric(exact_match, ["answer"])
    wrong = feedback(example, dspy.Prediction(answer="5"), None, "predict", None)
    assert wrong.score == 0.0
    assert wrong.feedback == "Score 0.00. answer: expected '4', got '5'."
    assert feedback(example, dspy.Prediction(answer="4")).feedback == "Score 1.00. Correct."


def test_importing_the_package_does_not_import_dspy() -> None:
    code = (
        "import sys, dspex_gql.engine.optimization.dspy_compile; "
        "assert 'dspy' not in sys.modules and 'litellm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

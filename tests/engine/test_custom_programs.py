from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

import pytest

from dspex_gql.engine import custom
from dspex_gql.engine.adapters import (
    AdapterError,
    AdapterRequest,
    AdapterResult,
    MockAdapter,
    NotRegistered,
    ProgramType,
)
from dspex_gql.engine.custom import CustomProgramRegistry, MajorityVote, most_common
from dspex_gql.engine.signatures import parse_signature

SIGNATURE = parse_signature("question -> answer, confidence: float")


def request(configuration: Mapping[str, Any] | None = None) -> AdapterRequest:
    return AdapterRequest(
        program_type=ProgramType.CUSTOM,
        signature=SIGNATURE,
        instructions=None,
        inputs={"question": "Capital of France?"},
        configuration=configuration or {},
    )


class ScriptedAdapter:
    """Answers sample `i` with `answers[i]`, records requests, and runs samples concurrently."""

    name = "scripted"

    def __init__(self, answers: list[str], fail_sample: int | None = None) -> None:
        self.answers = answers
        self.fail_sample = fail_sample
        self.requests: list[AdapterRequest] = []
        self.running = 0
        self.most_running = 0

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        return []

    async def run(self, request: AdapterRequest) -> AdapterResult:
        self.requests.append(request)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        sample = request.configuration["sample"]
        if sample == self.fail_sample:
            raise AdapterError("rate limited")
        outputs = {"answer": self.answers[sample], "confidence": 0.5}
        return AdapterResult(outputs, prompt_tokens=10, completion_tokens=3, cost=0.25)


# -- MajorityVote -------------------------------------------------------------------------------


async def test_majority_vote_keeps_the_most_common_answer() -> None:
    adapter = ScriptedAdapter(["Lyon", "Paris", "Paris", "Nice", "Paris"])

    result = await MajorityVote()(request({"samples": 5, "temperature": 1}), adapter)

    assert result.outputs == {"answer": "Paris", "confidence": 0.5}
    assert (result.prompt_tokens, result.completion_tokens) == (50, 15)
    assert result.cost == pytest.approx(1.25)
    assert result.metadata["samples"] == 5
    assert result.trace is not None
    assert [sample["answer"] for sample in result.trace["samples"]] == adapter.answers


async def test_majority_vote_sends_predict_requests_numbered_by_sample() -> None:
    adapter = ScriptedAdapter(["a", "b", "c"])

    await MajorityVote()(request({"temperature": 0.4}), adapter)

    assert len(adapter.requests) == 3
    assert {r.program_type for r in adapter.requests} == {ProgramType.PREDICT}
    assert sorted(r.configuration["sample"] for r in adapter.requests) == [0, 1, 2]
    assert {r.configuration["temperature"] for r in adapter.requests} == {0.4}


async def test_majority_vote_runs_samples_concurrently() -> None:
    adapter = ScriptedAdapter(["a"] * 4)

    await MajorityVote()(request({"samples": 4}), adapter)

    assert adapter.most_running == 4


async def test_majority_vote_breaks_ties_by_first_seen() -> None:
    adapter = ScriptedAdapter(["Nice", "Lyon", "Lyon", "Nice"])

    result = await MajorityVote()(request({"samples": 4}), adapter)

    assert result.outputs["answer"] == "Nice"


async def test_a_failed_sample_fails_the_vote() -> None:
    adapter = ScriptedAdapter(["a", "b", "c"], fail_sample=1)

    with pytest.raises(AdapterError, match="sample 2 of 3 failed: rate limited"):
        await MajorityVote()(request(), adapter)


@pytest.mark.parametrize("samples", [0, 16, 2.0, True, "3"])
async def test_majority_vote_rejects_bad_sample_counts(samples: Any) -> None:
    with pytest.raises(AdapterError, match="samples must be an integer between 1 and 15"):
        await MajorityVote()(request({"samples": samples}), ScriptedAdapter(["a"]))


async def test_majority_vote_over_the_mock_is_deterministic_and_typed() -> None:
    first = await MajorityVote()(request({"samples": 5}), MockAdapter())
    again = await MajorityVote()(request({"samples": 5}), MockAdapter())

    assert first == again
    assert set(first.outputs) == {"answer", "confidence"}
    assert isinstance(first.outputs["confidence"], float)
    assert first.trace is not None
    assert first.outputs["answer"] in [s["answer"] for s in first.trace["samples"]]
    assert first.metadata == {"adapter": "mock", "model": "mock-1", "samples": 5}


def test_most_common_compares_values_as_json() -> None:
    assert most_common([[1, 2], {"a": 1}, [1, 2], {"a": 1}, {"a": 1}]) == {"a": 1}
    assert most_common([{"b": 1, "a": 2}, {"a": 2, "b": 1}, "x"]) == {"b": 1, "a": 2}
    assert most_common([3, 4]) == 3


# -- registry -----------------------------------------------------------------------------------


def test_registry_registers_and_finds_implementations() -> None:
    registry = CustomProgramRegistry()
    vote = MajorityVote()
    registry.register("majority_vote", vote)
    registry.register("another", MajorityVote())

    assert registry.get("majority_vote") is vote
    assert registry.names() == ["another", "majority_vote"]
    assert "majority_vote" in registry
    assert "missing" not in registry


def test_registry_errors_are_clear() -> None:
    registry = CustomProgramRegistry()
    registry.register("majority_vote", MajorityVote())

    with pytest.raises(KeyError) as caught:
        registry.get("best_of_n")
    assert isinstance(caught.value, NotRegistered)
    assert str(caught.value) == (
        "unknown program implementation 'best_of_n'; available: majority_vote"
    )
    with pytest.raises(ValueError, match="already registered"):
        registry.register("majority_vote", MajorityVote())


@dataclass
class FakeEntryPoint:
    name: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


async def plain_function(request: AdapterRequest, adapter: Any) -> AdapterResult:
    return AdapterResult({})


def test_from_entry_points_loads_classes_and_callables_and_skips_broken_ones(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    found = [
        FakeEntryPoint("majority_vote", MajorityVote),
        FakeEntryPoint("function", plain_function),
        FakeEntryPoint("missing_module", ModuleNotFoundError("No module named 'gone'")),
        FakeEntryPoint("not_callable", 42),
    ]
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return found

    monkeypatch.setattr(custom, "entry_points", fake_entry_points)
    with caplog.at_level(logging.WARNING, logger=custom.__name__):
        registry = CustomProgramRegistry.from_entry_points("my.group")

    assert groups == ["my.group"]
    assert registry.names() == ["function", "majority_vote"]
    assert isinstance(registry.get("majority_vote"), MajorityVote)
    assert registry.get("function") is plain_function
    warnings = [record.getMessage() for record in caplog.records]
    assert any("'missing_module'" in w and "No module named 'gone'" in w for w in warnings)
    assert any("'not_callable'" in w and "not callable" in w for w in warnings)


def _installed() -> bool:
    try:
        distribution("dspex-gql")
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason="dspex-gql is not installed: no entry points")
def test_majority_vote_is_discoverable_from_the_installed_entry_points() -> None:
    registry = CustomProgramRegistry.from_entry_points()

    assert "majority_vote" in registry
    assert isinstance(registry.get("majority_vote"), MajorityVote)

"""CUSTOM dspy modules come from the `dspex_gql.dspy_modules` entry points; broken ones are
reported at initialization, not at the first run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dspy
import pytest

from dspex_gql.engine.adapters import ProgramType
from dspex_gql.engine.adapters.dspy import custom_modules, module_problems
from dspex_gql.engine.adapters.dspy.loader import load_dspy_sync
from dspex_gql.engine.signatures import parse_signature


@dataclass
class FakeEntryPoint:
    name: str
    loaded: Any

    def load(self) -> Any:
        if isinstance(self.loaded, Exception):
            raise self.loaded
        return self.loaded


def module_classes() -> dict[str, Any]:
    load_dspy_sync()

    class Refuses(dspy.Module):  # type: ignore[misc]
        def __init__(self, signature: Any) -> None:
            raise ValueError("this module needs two signatures")

        async def aforward(self, **inputs: Any) -> Any:
            raise AssertionError("never built")

    class SyncOnly(dspy.Module):  # type: ignore[misc]
        def forward(self, **inputs: Any) -> Any:
            raise AssertionError("never run")

    return {
        "broken": ImportError("No module named 'gone'"),
        "plain": object,
        "refuses": Refuses,
        "sync_only": SyncOnly,
    }


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entry_points = [FakeEntryPoint(name, loaded) for name, loaded in module_classes().items()]
    monkeypatch.setattr(custom_modules, "entry_points", lambda *, group: entry_points)
    custom_modules._load_module_class.cache_clear()
    yield
    custom_modules._load_module_class.cache_clear()


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("implementation", "problem"),
    [
        ("broken", "dspy module 'broken' could not be loaded: No module named 'gone'"),
        ("plain", "dspy module 'plain' is not a dspy.Module subclass"),
        ("refuses", "dspy module 'refuses' could not be built: this module needs two signatures"),
        ("sync_only", "dspy module 'sync_only' has no `async def aforward`"),
        ("other", "unknown dspy module 'other'; available: broken, plain, refuses, sync_only"),
    ],
)
def test_a_broken_custom_module_is_a_problem(implementation: str, problem: str) -> None:
    signature = parse_signature("question -> answer")

    problems = module_problems(ProgramType.CUSTOM, signature, None, {}, None, implementation)

    assert problems == [problem]

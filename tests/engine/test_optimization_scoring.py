from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from dspex_gql.engine.adapters.registry import NotRegistered
from dspex_gql.engine.optimization import scoring
from dspex_gql.engine.optimization.scoring import (
    MetricRegistry,
    contains,
    exact_match,
    f1,
    json_equal,
    numeric,
)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ("  Paris\n", "paris", 1.0),
        ("New   York", "new york", 1.0),
        ("Lyon", "Paris", 0.0),
        (1, True, 0.0),
        (True, True, 1.0),
        (1, 1.0, 1.0),
        ("1", 1, 0.0),
        ([1, {"a": "x"}], [1, {"a": "x"}], 1.0),
        ([1, 2], [2, 1], 0.0),
        ([True], [1], 0.0),
        ({"a": 1}, {"a": 1, "b": 2}, 0.0),
        (None, None, 1.0),
    ],
)
def test_exact_match(output: Any, expected: Any, score: float) -> None:
    assert exact_match({"answer": output}, {"answer": expected}) == score


def test_a_missing_field_scores_zero_and_fields_are_averaged() -> None:
    expected = {"answer": "Paris", "country": "France", "population": 2}
    assert exact_match({"answer": "paris", "population": 2}, expected) == pytest.approx(2 / 3)
    assert exact_match({}, {"answer": "x"}) == 0.0
    assert exact_match({"answer": "x"}, {}) == 0.0


def test_contains_normalizes_and_falls_back_to_equality() -> None:
    assert contains({"a": "The answer is  PARIS, France"}, {"a": "paris,"}) == 1.0
    assert contains({"a": "Lyon"}, {"a": "Paris"}) == 0.0
    assert contains({"a": 3}, {"a": 3}) == 1.0
    assert contains({"a": "3 apples"}, {"a": 3}) == 0.0


def test_f1_is_squad_style_token_overlap() -> None:
    # tokens: [paris, france] vs [paris]: precision 1/2, recall 1 → 2/3
    assert f1({"a": "Paris, France!"}, {"a": "The Paris"}) == pytest.approx(2 / 3)
    # [cat, sat, on, mat] vs [cat, on, mat, today]: 3 common → p = r = 3/4
    assert f1({"a": "The cat sat on the mat."}, {"a": "a cat on a mat today"}) == pytest.approx(
        0.75
    )
    assert f1({"a": "red red"}, {"a": "red"}) == pytest.approx(2 / 3)
    assert f1({"a": "nothing"}, {"a": "else"}) == 0.0
    assert f1({"a": "the"}, {"a": "a"}) == 1.0  # both empty after normalization
    assert f1({"a": "the"}, {"a": "cat"}) == 0.0
    assert f1({"a": 2}, {"a": 2}) == 1.0


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        (10, 10, 1.0),
        (9, 10, 0.9),
        ("11.0", 10, 0.9),
        (" 5 ", "10", 0.5),
        (30, 10, 0.0),
        (-1, 0, 0.0),
        (0, 0, 1.0),
        ("ten", 10, 0.0),
        (True, 1, 0.0),
        (10, None, 0.0),
        ("nan", 1, 0.0),
    ],
)
def test_numeric_closeness(output: Any, expected: Any, score: float) -> None:
    assert numeric({"x": output}, {"x": expected}) == pytest.approx(score)


def test_json_equal_keeps_booleans_apart_from_numbers() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(1, True)
    assert not json_equal(0, False)
    assert not json_equal("a", ["a"])
    assert json_equal({"k": [1, None]}, {"k": (1.0, None)})


def test_registry_has_the_built_ins_and_lists_them_for_unknown_names() -> None:
    registry = MetricRegistry.default()
    assert {"exact_match", "contains", "f1", "numeric"} <= set(registry.names())
    assert "f1" in registry
    assert registry.get("f1") is f1
    with pytest.raises(NotRegistered) as caught:
        registry.get("bleu")
    assert str(caught.value) == (f"unknown metric 'bleu'; available: {', '.join(registry.names())}")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("f1", f1)


@dataclass
class FakeEntryPoint:
    name: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


class Always:
    def __call__(self, outputs: Any, expected: Any) -> float:
        return 1.0


def test_entry_points_are_loaded_and_broken_ones_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    found = [
        FakeEntryPoint("always", Always),
        FakeEntryPoint("broken", ModuleNotFoundError("No module named 'gone'")),
        FakeEntryPoint("not_callable", 42),
        FakeEntryPoint("f1", Always),  # clashes with a built-in
    ]
    monkeypatch.setattr(scoring, "entry_points", lambda *, group: found)
    with caplog.at_level(logging.WARNING, logger=scoring.__name__):
        registry = MetricRegistry.default()
    assert registry.names() == ["always", "contains", "exact_match", "f1", "numeric"]
    assert registry.get("always")({}, {}) == 1.0
    assert registry.get("f1") is f1
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "'broken'" in messages
    assert "not callable" in messages
    assert "already registered" in messages

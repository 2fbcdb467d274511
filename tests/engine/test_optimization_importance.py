from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from dspex_gql.engine.optimization import importance
from dspex_gql.engine.optimization.importance import variable_importance
from dspex_gql.engine.variables.model import (
    Choices,
    Dependency,
    FloatRange,
    IntRange,
    SearchSpace,
    Variable,
    VariableType,
)

SPACE = SearchSpace(
    variables=(
        Variable("b", VariableType.FLOAT, FloatRange(0.0, 1.0)),
        Variable("a", VariableType.FLOAT, FloatRange(0.0, 1.0)),
        Variable("style", VariableType.CHOICE, Choices(("x", 1, True))),
        Variable("k", VariableType.INTEGER, IntRange(1, 9)),
    ),
    dependencies=(Dependency("k", depends_on="style", values=("x",)),),
)


def trials(count: int, score: Any, seed: int = 0) -> list[tuple[dict[str, Any], float]]:
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(count):
        configuration: dict[str, Any] = {
            "b": float(rng.uniform()),
            "a": float(rng.uniform()),
            "style": ["x", 1, True][int(rng.integers(3))],
        }
        if configuration["style"] == "x":
            configuration["k"] = int(rng.integers(1, 10))
        result.append((configuration, float(score(configuration))))
    return result


def test_the_variable_the_score_depends_on_gets_most_of_the_importance() -> None:
    found = variable_importance(SPACE, trials(60, lambda c: (c["a"] - 0.3) ** 2))
    assert next(iter(found)) == "a"
    assert set(found) == {"a", "b", "style", "k"}
    assert found["a"] > 0.8
    assert sum(found.values()) == pytest.approx(1.0)
    assert list(found.values()) == sorted(found.values(), reverse=True)
    if importance.fanova_available():
        assert found["k"] == 0.0  # fANOVA: not active in every trial


def test_categorical_importance() -> None:
    found = variable_importance(SPACE, trials(60, lambda c: 1.0 if c["style"] is True else 0.0))
    assert next(iter(found)) == "style"


def test_too_few_trials_or_no_variation_give_zeros() -> None:
    zeros = {"b": 0.0, "a": 0.0, "style": 0.0, "k": 0.0}
    assert variable_importance(SPACE, []) == zeros
    assert variable_importance(SPACE, trials(1, lambda c: c["a"])) == zeros
    assert variable_importance(SPACE, trials(20, lambda c: 0.5)) == zeros


def test_same_seed_same_result() -> None:
    data = trials(30, lambda c: c["a"] + 0.3 * c["b"])
    assert variable_importance(SPACE, data, seed=4) == variable_importance(SPACE, data, seed=4)


def test_falls_back_to_ped_anova_when_fanova_fails(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import optuna.importance

    class Broken(optuna.importance.BaseImportanceEvaluator):
        def __init__(self, seed: int) -> None:
            pass

        def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
            raise RuntimeError("boom")

    monkeypatch.setattr(importance, "fanova_available", lambda: True)
    monkeypatch.setattr(optuna.importance, "FanovaImportanceEvaluator", Broken)
    with caplog.at_level(logging.WARNING, logger=importance.__name__):
        found = variable_importance(SPACE, trials(60, lambda c: c["a"]))
    assert "boom" in caplog.text
    assert next(iter(found)) == "a"
    assert sum(found.values()) == pytest.approx(1.0)

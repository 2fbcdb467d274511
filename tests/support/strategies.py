"""Optimization strategies driven by hand, as the engine's tests drive them: a space with every
kind of variable, a toy objective, and a loop that asks and tells."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from dspex_gql.engine.optimization import (
    Candidate,
    Objective,
    Outcome,
    Strategy,
    StrategyKind,
    create_strategy,
)
from dspex_gql.engine.variables.configurations import complete, validate_configuration
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
        Variable("temperature", VariableType.FLOAT, FloatRange(0.0, 1.5)),
        Variable("learning_rate", VariableType.FLOAT, FloatRange(1e-4, 1e-1, log=True)),
        Variable("threshold", VariableType.FLOAT, FloatRange(0.0, 1.0, step=0.1)),
        Variable("retriever", VariableType.CHOICE, Choices(("bm25", "dense", 1, True, [1, 2]))),
        Variable("top_k", VariableType.INTEGER, IntRange(1, 20, step=3)),
        Variable("depth", VariableType.INTEGER, IntRange(1, 64, log=True)),
        Variable("module", VariableType.MODULE, Choices(("predict", "chain_of_thought"))),
        Variable("verbose", VariableType.BOOLEAN, Choices((False, True))),
        Variable("rerank", VariableType.BOOLEAN, Choices((False, True))),
        Variable("rerank_depth", VariableType.INTEGER, IntRange(5, 50)),
    ),
    dependencies=(
        Dependency("top_k", depends_on="retriever", values=("dense",)),
        Dependency("rerank", depends_on="retriever", values=("dense",)),
        Dependency("rerank_depth", depends_on="rerank", values=(True,)),
    ),
)
ONE = (Objective("score"),)
EXAMPLES = 20

Evaluate = Callable[[Candidate], Outcome]


def make(
    kind: StrategyKind,
    *,
    seed: int | None = 1,
    space: SearchSpace = SPACE,
    objectives: tuple[Objective, ...] = ONE,
    options: Mapping[str, Any] | None = None,
    history: list[tuple[Candidate, Outcome]] | None = None,
    example_count: int = EXAMPLES,
) -> Strategy:
    return create_strategy(
        kind,
        space,
        objectives,
        seed=seed,
        example_count=example_count,
        options=options,
        history=history or (),
    )


def toy_outcome(candidate: Candidate) -> Outcome:
    """A deterministic score from the configuration, with per-example scores."""
    configuration = candidate.configuration
    score = 1.0 - abs(configuration.get("temperature", 0.9) - 0.9) / 1.5
    if configuration.get("retriever") == "dense":
        score += 0.1
    examples = candidate.examples or ()
    return Outcome((score,), tuple(score * (1 + i % 3) / 3 for i in examples))


def run(strategy: Strategy, budget: int, evaluate: Evaluate = toy_outcome) -> list[Candidate]:
    asked = []
    for _ in range(budget):
        candidate = strategy.ask()
        if candidate is None:
            break
        asked.append(candidate)
        strategy.tell(candidate, evaluate(candidate))
    return asked


def told(candidates: list[Candidate]) -> list[tuple[Candidate, Outcome]]:
    return [(candidate, toy_outcome(candidate)) for candidate in candidates]


def assert_valid(space: SearchSpace, configuration: dict[str, Any]) -> None:
    assert validate_configuration(space, configuration) == []
    assert configuration == complete(space, configuration)  # exactly the active variables
    assert json.loads(json.dumps(configuration)) == configuration
    for name, value in configuration.items():
        variable = space.variable(name)
        if variable.type is VariableType.INTEGER:
            assert type(value) is int, (name, value)
        if variable.type is VariableType.FLOAT:
            assert type(value) is float, (name, value)
        if variable.type is VariableType.BOOLEAN:
            assert type(value) is bool, (name, value)

"""Scores one configuration of a program on training examples.

Each example `{"inputs": {"question": "2+2?"}, "expected": {"answer": "4"}}` runs through the
program's adapter with the configuration (at most `concurrency` at a time); the expected outputs
travel in the request options (`options["expected"]`), which a simulated adapter may use. The
metric scores each answer; an example whose run fails scores 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dspex_gql.engine.adapters.base import AdapterError, AdapterRequest, ProgramType
from dspex_gql.engine.adapters.registry import NotRegistered
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.engine.optimization import Metric
from dspex_gql.engine.signatures import ParsedSignature, validate_inputs
from dspex_gql.errors import FieldProblem

MAX_ERRORS_KEPT = 3


@dataclass(frozen=True)
class Example:
    inputs: Mapping[str, Any]
    expected: Mapping[str, Any]


@dataclass(frozen=True)
class ProgramUnderTest:
    adapter: str
    implementation: str | None
    type: ProgramType
    signature: ParsedSignature
    instructions: str | None
    configuration: Mapping[str, Any]
    language_models: Mapping[str, LanguageModelSpec] = field(default_factory=dict)
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ExampleResult:
    score: float
    cost: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    examples: tuple[ExampleResult, ...]

    @property
    def failed(self) -> bool:
        """Every example's run failed: nothing was learnt about the configuration."""
        return all(example.error is not None for example in self.examples)

    @property
    def score(self) -> float | None:
        return None if self.failed else _mean([e.score for e in self.examples])

    @property
    def cost(self) -> float:
        return sum(example.cost for example in self.examples)

    @property
    def latency_ms(self) -> float | None:
        answered = [e.latency_ms for e in self.examples if e.error is None]
        return _mean(answered) if answered else None

    @property
    def errors(self) -> list[str]:
        found = [e.error for e in self.examples if e.error is not None]
        return found[:MAX_ERRORS_KEPT]

    def objective(self, name: str) -> float | None:
        """`SCORE`, `COST` or `LATENCY` (milliseconds)."""
        return {"SCORE": self.score, "COST": self.cost, "LATENCY": self.latency_ms}[name]


async def evaluate(
    invoke: ProgramInvoker,
    program: ProgramUnderTest,
    configuration: Mapping[str, Any],
    examples: Sequence[Example],
    metric: Metric,
    concurrency: int,
) -> EvaluationResult:
    slots = asyncio.Semaphore(concurrency)
    merged = {**program.configuration, **configuration}

    async def one(example: Example) -> ExampleResult:
        async with slots:
            return await _run_example(invoke, program, merged, example, metric)

    return EvaluationResult(tuple(await asyncio.gather(*(one(e) for e in examples))))


async def _run_example(
    invoke: ProgramInvoker,
    program: ProgramUnderTest,
    configuration: Mapping[str, Any],
    example: Example,
    metric: Metric,
) -> ExampleResult:
    request = AdapterRequest(
        program_type=program.type,
        signature=program.signature,
        instructions=program.instructions,
        inputs=example.inputs,
        configuration=configuration,
        options={"expected": example.expected},
        language_models=program.language_models,
        state=program.state,
    )
    started = time.perf_counter()
    try:
        result = await invoke(program.adapter, program.implementation, request)
    except (AdapterError, NotRegistered) as error:
        return ExampleResult(score=0.0, error=str(error))
    latency_ms = (time.perf_counter() - started) * 1000
    score = metric(result.outputs, example.expected)
    return ExampleResult(score=score, cost=result.cost, latency_ms=latency_ms)


def parse_examples(raw: Any, signature: ParsedSignature, *, limit: int) -> list[Example]:
    """Training data as examples, or `ExamplesInvalid` with every problem (`trainingData[3]…`)."""
    if not isinstance(raw, list) or not raw:
        raise ExamplesInvalid(
            [FieldProblem("trainingData", "give at least one example", "required")]
        )
    if len(raw) > limit:
        message = f"at most {limit} examples (got {len(raw)})"
        raise ExamplesInvalid([FieldProblem("trainingData", message, "too_many")])
    problems = [
        p for index, item in enumerate(raw) for p in _example_problems(index, item, signature)
    ]
    if problems:
        raise ExamplesInvalid(problems)
    return [Example(inputs=item["inputs"], expected=item["expected"]) for item in raw]


class ExamplesInvalid(Exception):
    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = tuple(problems)


def _example_problems(index: int, item: Any, signature: ParsedSignature) -> list[FieldProblem]:
    at = f"trainingData[{index}]"
    if not isinstance(item, dict) or set(item) - {"inputs", "expected"}:
        return [FieldProblem(at, 'must be {"inputs": {...}, "expected": {...}}', "invalid")]
    inputs, expected = item.get("inputs"), item.get("expected")
    if not isinstance(inputs, dict) or not isinstance(expected, dict) or not expected:
        message = "needs an `inputs` object and a non-empty `expected` object"
        return [FieldProblem(at, message, "invalid")]
    problems = [
        FieldProblem(f"{at}.{p.field}", p.message, p.code)
        for p in validate_inputs(signature, inputs)
    ]
    outputs = set(signature.output_names)
    problems += [
        FieldProblem(
            f"{at}.expected.{name}", f"'{name}' is not an output of the signature", "unknown"
        )
        for name in expected
        if name not in outputs
    ]
    return problems


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0

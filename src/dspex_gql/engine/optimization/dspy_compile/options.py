"""Which DSPy optimizer compiles a program, and its options, checked all at once.

    settings = read_options(DspyOptimizer.DSPY_SIMBA, {"batchSize": 4}, example_count=10)
    check_options(DspyOptimizer.DSPY_SIMBA, {"batchSize": 40}, example_count=10)
    # StrategyOptionsInvalid: strategyOptions.batchSize: must be an integer between 2 and 10

Options per kind, with their defaults (small, so that a first run is cheap; anything else is
reported as unknown):

- DSPY_BOOTSTRAP_FEW_SHOT: `maxBootstrappedDemos` 4, `maxLabeledDemos` 16, `maxRounds` 1.
- DSPY_MIPRO_V2: `auto` null (or "light" | "medium" | "heavy", which then choose the candidate and
  trial counts themselves: `numCandidates`/`numTrials` are refused with it), `numCandidates` 3,
  `numTrials` 6, `maxBootstrappedDemos` 4, `maxLabeledDemos` 4, `minibatch` true,
  `minibatchSize` min(35, validation examples) (at most the validation examples).
- DSPY_SIMBA: `batchSize` min(8, examples) (2 … examples), `maxSteps` 4, `numCandidates` 4,
  `maxDemos` 4.
- DSPY_GEPA: one budget, `auto` ("light" | "medium" | "heavy") or `maxMetricCalls` (default 4 full
  passes over train + validation examples, when neither is given), and
  `reflectionMinibatchSize` min(3, examples) (at most the examples).

"Validation examples" are the separate valset when one is given, else the training examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dspex_gql.engine.optimization.base import OptionReader
from dspex_gql.errors import FieldProblem

AUTO_LEVELS = ("light", "medium", "heavy")
MAX_DEMOS = 64
MAX_ROUNDS = 10
MAX_CANDIDATES = 64
MAX_TRIALS = 1_000
MAX_STEPS = 100
MAX_METRIC_CALLS = 1_000_000
GEPA_DEFAULT_FULL_PASSES = 4


class DspyOptimizer(StrEnum):
    """DSPy's own optimizers (not our SIMBA strategy over a variable space)."""

    DSPY_BOOTSTRAP_FEW_SHOT = "DSPY_BOOTSTRAP_FEW_SHOT"
    DSPY_MIPRO_V2 = "DSPY_MIPRO_V2"
    DSPY_SIMBA = "DSPY_SIMBA"
    DSPY_GEPA = "DSPY_GEPA"


@dataclass(frozen=True)
class BootstrapSettings:
    max_bootstrapped_demos: int
    max_labeled_demos: int
    max_rounds: int


@dataclass(frozen=True)
class MiproSettings:
    auto: str | None
    num_candidates: int | None
    num_trials: int | None
    max_bootstrapped_demos: int
    max_labeled_demos: int
    minibatch: bool
    minibatch_size: int


@dataclass(frozen=True)
class SimbaSettings:
    batch_size: int
    max_steps: int
    num_candidates: int
    max_demos: int


@dataclass(frozen=True)
class GepaSettings:
    auto: str | None
    max_metric_calls: int | None
    reflection_minibatch_size: int


OptimizerSettings = BootstrapSettings | MiproSettings | SimbaSettings | GepaSettings


@dataclass(frozen=True)
class _Sizes:
    examples: int
    validation: int


def read_options(
    kind: DspyOptimizer | str,
    options: Mapping[str, Any] | None,
    example_count: int,
    validation_count: int | None = None,
) -> OptimizerSettings:
    """The settings for `kind`, or StrategyOptionsInvalid listing every problem."""
    sizes = _Sizes(example_count, example_count if validation_count is None else validation_count)
    return _READERS[DspyOptimizer(kind)](options or {}, sizes)


def check_options(
    kind: DspyOptimizer | str,
    options: Mapping[str, Any] | None,
    example_count: int,
    validation_count: int | None = None,
) -> None:
    """Raises StrategyOptionsInvalid listing every problem with `options` for `kind`."""
    read_options(kind, options, example_count, validation_count)


def _bootstrap(options: Mapping[str, Any], _sizes: _Sizes) -> BootstrapSettings:
    known = ("maxBootstrappedDemos", "maxLabeledDemos", "maxRounds")
    reader = OptionReader(options, known=known)
    settings = BootstrapSettings(
        max_bootstrapped_demos=reader.integer("maxBootstrappedDemos", 4, 0, MAX_DEMOS),
        max_labeled_demos=reader.integer("maxLabeledDemos", 16, 0, MAX_DEMOS),
        max_rounds=reader.integer("maxRounds", 1, 1, MAX_ROUNDS),
    )
    reader.check()
    return settings


def _mipro(options: Mapping[str, Any], sizes: _Sizes) -> MiproSettings:
    known = (
        *("auto", "numCandidates", "numTrials", "maxBootstrappedDemos", "maxLabeledDemos"),
        *("minibatch", "minibatchSize"),
    )
    reader = OptionReader(options, known=known)
    if sizes.examples < 2:
        _too_few(reader, "MIPROv2")
    auto = _auto(reader)
    counted = {key: options[key] for key in ("numCandidates", "numTrials") if key in options}
    for key in counted if auto is not None else ():
        reader.add(key, "not allowed with `auto`, which chooses it; set `auto` to null")
    settings = MiproSettings(
        auto=auto,
        num_candidates=None if auto else reader.integer("numCandidates", 3, 1, MAX_CANDIDATES),
        num_trials=None if auto else reader.integer("numTrials", 6, 1, MAX_TRIALS),
        max_bootstrapped_demos=reader.integer("maxBootstrappedDemos", 4, 0, MAX_DEMOS),
        max_labeled_demos=reader.integer("maxLabeledDemos", 4, 0, MAX_DEMOS),
        minibatch=_boolean(reader, "minibatch", default=True),
        minibatch_size=_bounded(reader, "minibatchSize", 35, sizes.validation, low=1),
    )
    reader.check()
    return settings


def _simba(options: Mapping[str, Any], sizes: _Sizes) -> SimbaSettings:
    reader = OptionReader(options, known=("batchSize", "maxSteps", "numCandidates", "maxDemos"))
    if sizes.examples < 2:
        _too_few(reader, "DSPy SIMBA")
    settings = SimbaSettings(
        batch_size=_bounded(reader, "batchSize", 8, sizes.examples, low=2),
        max_steps=reader.integer("maxSteps", 4, 1, MAX_STEPS),
        num_candidates=reader.integer("numCandidates", 4, 1, MAX_CANDIDATES),
        max_demos=reader.integer("maxDemos", 4, 0, MAX_DEMOS),
    )
    reader.check()
    return settings


def _gepa(options: Mapping[str, Any], sizes: _Sizes) -> GepaSettings:
    reader = OptionReader(options, known=("auto", "maxMetricCalls", "reflectionMinibatchSize"))
    auto = _auto(reader)
    calls: int | None = None
    if auto is not None and "maxMetricCalls" in options:
        reader.add("maxMetricCalls", "give either `auto` or `maxMetricCalls`, not both")
    elif auto is None:
        passes = GEPA_DEFAULT_FULL_PASSES * (sizes.examples + sizes.validation)
        calls = reader.integer("maxMetricCalls", passes, 1, MAX_METRIC_CALLS)
    settings = GepaSettings(
        auto=auto,
        max_metric_calls=calls,
        reflection_minibatch_size=_bounded(
            reader, "reflectionMinibatchSize", 3, sizes.examples, low=1
        ),
    )
    reader.check()
    return settings


def _too_few(reader: OptionReader, optimizer: str) -> None:
    message = f"{optimizer} needs at least 2 examples"
    reader.problems.append(FieldProblem("trainingData", message, "too_few"))


def _auto(reader: OptionReader) -> str | None:
    value = reader.options.get("auto")
    if value is None:
        return None
    if value in AUTO_LEVELS:
        return str(value)
    reader.add("auto", f"must be one of {', '.join(AUTO_LEVELS)} or null")
    return None


def _boolean(reader: OptionReader, key: str, *, default: bool) -> bool:
    value = reader.options.get(key, default)
    if not isinstance(value, bool):
        reader.add(key, "must be true or false")
        return default
    return value


def _bounded(reader: OptionReader, key: str, default: int, count: int, *, low: int) -> int:
    """An integer between `low` and `count` (the examples it draws from); defaults to at most
    `count`."""
    if count < low:
        if key in reader.options:
            reader.add(key, f"needs at least {low} examples (got {count})")
        return max(count, 1)
    return reader.integer(key, min(default, count), low, count)


_READERS: Mapping[DspyOptimizer, Callable[[Mapping[str, Any], _Sizes], OptimizerSettings]] = {
    DspyOptimizer.DSPY_BOOTSTRAP_FEW_SHOT: _bootstrap,
    DspyOptimizer.DSPY_MIPRO_V2: _mipro,
    DspyOptimizer.DSPY_SIMBA: _simba,
    DspyOptimizer.DSPY_GEPA: _gepa,
}

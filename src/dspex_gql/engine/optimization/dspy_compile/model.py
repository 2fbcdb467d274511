"""What a DSPy compile is asked, what it reports while it runs, and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dspex_gql.engine.optimization.dspy_compile.options import DspyOptimizer
from dspex_gql.engine.optimization.scoring import Metric

TrainingExample = Mapping[str, Any]
"""One of our examples: `{"inputs": {"question": "2+2?"}, "expected": {"answer": "4"}}`."""


@dataclass(frozen=True)
class Prices:
    """What the language model costs, in currency units per million tokens."""

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0


@dataclass(frozen=True)
class CompileRequest:
    optimizer: DspyOptimizer
    program: Any
    """A built `dspy.Module`; it is copied, never changed."""
    lm: Any
    """The `dspy.LM` the program (and the optimizer's proposals and reflections) run on."""
    trainset: Sequence[TrainingExample]
    metric: Metric
    output_names: Sequence[str]
    """The signature's output fields: what the metric compares."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Per optimizer, see `options.py`."""
    valset: Sequence[TrainingExample] | None = None
    """Scored instead of the training examples when given (baseline, candidates, final)."""
    max_lm_calls: int | None = None
    max_cost: float | None = None
    timeout_seconds: float | None = None
    prices: Prices | None = None
    """Without prices the cost is 0: DSPy's own price list is not used."""
    seed: int = 0
    num_threads: int = 4
    """Concurrent program runs inside one evaluation."""
    out_of_quota: Callable[[], bool] | None = None
    """Asked before each LM call (from DSPy's threads): True stops the compile as a budget does
    (`StopReason.COMPUTE_QUOTA`)."""


class ProgressKind(StrEnum):
    BASELINE = "BASELINE"
    """The uncompiled program, scored on the scoring set."""
    BOOTSTRAP = "BOOTSTRAP"
    """One training example run with demonstrations to collect a trace (BootstrapFewShot, and
    the bootstrapping stage of MIPROv2); its score says whether the trace was kept."""
    MINIBATCH = "MINIBATCH"
    """A candidate scored on part of the data."""
    EVALUATION = "EVALUATION"
    """A candidate scored on the whole scoring set (SIMBA: the whole training set)."""
    FINAL = "FINAL"
    """The compiled program, scored on the scoring set."""


@dataclass(frozen=True)
class CompileProgress:
    step: int
    """1, 2, 3 … in the order of delivery."""
    kind: ProgressKind
    score: float | None
    """The metric's mean in [0, 1], when the step scored something."""
    examples: int | None
    """How many examples `score` is the mean of."""
    lm_calls: int
    """LM calls finished so far, in the whole compile."""
    cost: float
    elapsed_seconds: float
    description: str | None = None
    candidate_state: dict[str, Any] | None = None
    """`dump_state()` of the program scored, when it is a candidate."""


class StopReason(StrEnum):
    MAX_LM_CALLS = "MAX_LM_CALLS"
    MAX_COST = "MAX_COST"
    TIMEOUT = "TIMEOUT"
    COMPUTE_QUOTA = "COMPUTE_QUOTA"
    CANCELLED = "CANCELLED"
    """Never in a result: a cancelled compile raises CancelledError."""


@dataclass(frozen=True)
class CompileResult:
    state: dict[str, Any]
    """`dump_state()` of the program: load it into a freshly built module with `load_state`."""
    score: float
    baseline_score: float
    lm_calls: int
    cost: float
    stop_reason: StopReason | None
    """None when the optimizer finished; else the budget that stopped it, and `state` is the
    best program scored on the whole scoring set before the stop (possibly the uncompiled one)."""
    elapsed_seconds: float


class CompileStopped(Exception):
    """A budget ran out before even the uncompiled program was scored."""

    def __init__(self, reason: StopReason, lm_calls: int, cost: float) -> None:
        super().__init__(f"compile stopped ({reason}) after {lm_calls} LM calls")
        self.reason = reason
        self.lm_calls = lm_calls
        self.cost = cost


class CompileFailed(Exception):
    """DSPy or the LM failed; the message says how."""

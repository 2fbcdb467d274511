"""What DSPy 3.4.1 lets us observe, and how each observation becomes progress or a stop.

- `on_lm_start` / `on_lm_end`: every LM call; budgets are checked before each one starts.
- `on_evaluate_start` / `on_evaluate_end`: each `dspy.Evaluate` of a program, which is how
  MIPROv2 scores its trials and GEPA its candidates (and how we score the baseline and the final
  program): one progress each, with the program's state.
- Metric calls made outside an evaluation are program runs an optimizer scores itself:
  BootstrapFewShot (and MIPROv2's bootstrapping) tries one example at a time; SIMBA runs each
  candidate on a mini-batch in `dspy.Parallel`. `ScoredRuns` turns them into progress, finding the
  program scored through the last top-level module call of the same thread (the metric runs right
  after the program, in the thread that ran it).
- `on_module_start` is a checkpoint too, so a stop also ends runs that have not called the LM yet.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from dspy.utils.callback import BaseCallback
from dspy.utils.callback_context import ACTIVE_CALL_ID

from dspex_gql.engine.optimization.dspy_compile.control import RunControl
from dspex_gql.engine.optimization.dspy_compile.metric import DspyMetric
from dspex_gql.engine.optimization.dspy_compile.progress import Evaluated, ProgressReporter

PERCENT = 100.0


class ProgressCallback(BaseCallback):  # type: ignore[misc]
    def __init__(self, control: RunControl, reporter: ProgressReporter, scoring: Sequence[Any]):
        super().__init__()
        self.control = control
        self.reporter = reporter
        self._scoring_ids = frozenset(map(id, scoring))
        self._lock = threading.Lock()
        self._modules: dict[str, tuple[Any, bool]] = {}
        self._evaluations: dict[str, tuple[Any, Sequence[Any]]] = {}
        self._thread = threading.local()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.control.lm_call_starting()

    def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
        self.control.lm_call_finished(exception)

    def on_module_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.control.checkpoint()
        parent = ACTIVE_CALL_ID.get()
        with self._lock:
            self._modules[call_id] = (instance, parent not in self._modules)

    def on_module_end(
        self, call_id: str, outputs: Any, exception: BaseException | None = None
    ) -> None:
        with self._lock:
            instance, top_level = self._modules.pop(call_id, (None, False))
        if top_level:
            self._thread.program = instance

    def on_evaluate_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.control.checkpoint()
        devset = inputs.get("devset") or instance.devset
        with self._lock:
            self._evaluations[call_id] = (inputs.get("program"), devset)

    def on_evaluate_end(
        self, call_id: str, outputs: Any, exception: BaseException | None = None
    ) -> None:
        with self._lock:
            program, devset = self._evaluations.pop(call_id, (None, ()))
        if exception is not None or program is None or outputs is None:
            return
        whole = frozenset(map(id, devset)) == self._scoring_ids
        score = float(outputs.score) / PERCENT
        total = len(self._scoring_ids)
        self.reporter.evaluated(Evaluated(program, score, len(devset), whole, total))

    def in_evaluation(self) -> bool:
        with self._lock:
            return ACTIVE_CALL_ID.get() in self._evaluations

    def last_program(self) -> Any:
        """The program of the last top-level module call this thread finished."""
        return getattr(self._thread, "program", None)


class ScoredRuns:
    """Program runs an optimizer scores itself, outside any evaluation.

    `per_program=None`: each run is one BOOTSTRAP progress. Otherwise runs are tallied per
    program, and a program is reported once it has `per_program` scores (a SIMBA mini-batch) and
    again at `trainset_size` (SIMBA's final pass over the training set; `whole` when the training
    set is the scoring set).
    """

    def __init__(
        self,
        reporter: ProgressReporter,
        *,
        per_program: int | None = None,
        trainset_size: int = 0,
        whole: bool = False,
    ) -> None:
        self.reporter = reporter
        self.per_program = per_program
        self.trainset_size = trainset_size
        self.whole = whole
        self._lock = threading.Lock()
        self._tallies: dict[int, tuple[weakref.ref[Any], int, float]] = {}

    def scored(self, program: Any, score: float) -> None:
        if self.per_program is None:
            self.reporter.bootstrapped(score)
            return
        if program is None:
            return
        count, total = self._tally(program, score)
        if count in (self.per_program, self.trainset_size):
            whole = count == self.trainset_size and self.whole
            self.reporter.evaluated(
                Evaluated(program, total / count, count, whole, self.trainset_size)
            )

    def _tally(self, program: Any, score: float) -> tuple[int, float]:
        """Weakly held: SIMBA's many one-run trajectory copies are not kept alive."""
        key = id(program)
        with self._lock:
            ref, count, total = self._tallies.get(key, (None, 0, 0.0))
            if ref is None or ref() is not program:
                ref, count, total = weakref.ref(program), 0, 0.0
            count, total = count + 1, total + score
            if count >= self.trainset_size:
                self._tallies.pop(key, None)
            else:
                self._tallies[key] = (ref, count, total)
        return count, total


class ObservedMetric:
    """Our bridged metric, telling `runs` about every score given outside an evaluation (GEPA's
    per-predictor feedback requests, which name a predictor, are not runs)."""

    def __init__(
        self, metric: DspyMetric, callback: ProgressCallback, runs: ScoredRuns, *, feedback: bool
    ) -> None:
        self.metric = metric
        self.callback = callback
        self.runs = runs
        self.feedback = feedback

    def __call__(
        self,
        gold: Any,
        pred: Any,
        trace: Any = None,
        pred_name: str | None = None,
        pred_trace: Any = None,
    ) -> Any:
        self.callback.control.checkpoint()
        if self.feedback:
            value = self.metric(gold, pred, trace, pred_name, pred_trace)
        else:
            value = self.metric(gold, pred, trace)
        if pred_name is None and not self.callback.in_evaluation():
            self.runs.scored(self.callback.last_program(), _score(value))
        return value


class UsageSink:
    """DSPy's `usage_tracker` setting: every LM response's token usage goes to the run's cost.
    DSPy deep-copies the tracker into each worker thread; copies share this one."""

    def __init__(self, control: RunControl) -> None:
        self.control = control

    def add_usage(self, lm: str, usage_entry: dict[str, Any]) -> None:
        self.control.add_usage(usage_entry or {})

    def __deepcopy__(self, memo: dict[int, Any]) -> UsageSink:
        return self


def _score(value: Any) -> float:
    score = getattr(value, "score", value)
    try:
        return float(score)
    except (TypeError, ValueError):
        return 0.0

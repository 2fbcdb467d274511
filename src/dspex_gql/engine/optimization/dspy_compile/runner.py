"""One compile, start to end, in the worker thread: baseline score, optimizer, final score.

DSPy's settings live in a ContextVar (`dspy.context` sets it, `dspy.configure` changes the
process-wide defaults). `asyncio.to_thread` runs this in a copy of the caller's context, and
DSPy's ParallelExecutor copies the settings of the thread that starts it into its workers; so
the `dspy.context` entered here, in the thread, reaches every program run of the compile, and
nothing of it leaks to other tasks.

LM history is off during a compile (no optimizer reads it; DSPy's global history would otherwise
keep the last 10,000 prompts and replies of every compile in the process).
"""

from __future__ import annotations

from typing import Any

import dspy

from dspex_gql.engine.optimization.dspy_compile.callbacks import (
    ObservedMetric,
    ProgressCallback,
    ScoredRuns,
    UsageSink,
)
from dspex_gql.engine.optimization.dspy_compile.control import RunControl, StopCompile
from dspex_gql.engine.optimization.dspy_compile.metric import (
    dspy_feedback_metric,
    dspy_metric,
    to_dspy_examples,
)
from dspex_gql.engine.optimization.dspy_compile.model import (
    CompileFailed,
    CompileRequest,
    CompileResult,
    CompileStopped,
    StopReason,
)
from dspex_gql.engine.optimization.dspy_compile.optimizers import Datasets, run_optimizer
from dspex_gql.engine.optimization.dspy_compile.options import (
    GepaSettings,
    OptimizerSettings,
    SimbaSettings,
)
from dspex_gql.engine.optimization.dspy_compile.progress import Phase, ProgressReporter


def run_compile(
    request: CompileRequest,
    settings: OptimizerSettings,
    control: RunControl,
    reporter: ProgressReporter,
) -> CompileResult:
    data = Datasets(
        trainset=to_dspy_examples(request.trainset),
        valset=None if request.valset is None else to_dspy_examples(request.valset),
    )
    callback = ProgressCallback(control, reporter, data.scoring)
    callbacks = [*dspy.settings.get("callbacks", []), callback]
    try:
        with dspy.context(
            lm=request.lm,
            callbacks=callbacks,
            usage_tracker=UsageSink(control),
            disable_history=True,
        ):
            return _compile_and_score(request, settings, data, callback)
    except StopCompile as stop:
        return _stopped(stop.reason, control, reporter)
    except CompileFailed:
        raise
    except Exception as error:
        raise CompileFailed(f"{type(error).__name__}: {error}") from error
    finally:
        reporter.close()


def _compile_and_score(
    request: CompileRequest,
    settings: OptimizerSettings,
    data: Datasets,
    callback: ProgressCallback,
) -> CompileResult:
    reporter, control = callback.reporter, callback.control
    evaluate = dspy.Evaluate(
        devset=data.scoring,
        metric=_metric(request, settings, data, callback, feedback=False),
        num_threads=request.num_threads,
        display_progress=False,
        max_errors=len(data.scoring) + 1,
    )
    baseline = _score(evaluate, request.program)
    if control.every_call_failed:
        raise CompileFailed(f"every LM call failed, e.g. {control.first_failure}")
    reporter.phase = Phase.OPTIMIZING
    optimizer_metric = _metric(
        request, settings, data, callback, feedback=isinstance(settings, GepaSettings)
    )
    compiled = run_optimizer(settings, request, data, optimizer_metric)
    reporter.phase = Phase.FINAL
    score = _score(evaluate, compiled)
    return CompileResult(
        state=compiled.dump_state(),
        score=score,
        baseline_score=baseline,
        lm_calls=control.calls_finished,
        cost=control.cost,
        stop_reason=None,
        elapsed_seconds=control.elapsed_seconds,
    )


def _metric(
    request: CompileRequest,
    settings: OptimizerSettings,
    data: Datasets,
    callback: ProgressCallback,
    *,
    feedback: bool,
) -> ObservedMetric:
    bridge = dspy_feedback_metric if feedback else dspy_metric
    runs = ScoredRuns(callback.reporter)
    if isinstance(settings, SimbaSettings):
        runs = ScoredRuns(
            callback.reporter,
            per_program=settings.batch_size,
            trainset_size=len(data.trainset),
            whole=data.valset is None,
        )
    return ObservedMetric(
        bridge(request.metric, request.output_names), callback, runs, feedback=feedback
    )


def _score(evaluate: Any, program: Any) -> float:
    return float(evaluate(program).score) / 100.0


def _stopped(
    reason: StopReason,
    control: RunControl,
    reporter: ProgressReporter,
) -> CompileResult:
    """The best program scored on the whole scoring set before the stop; the baseline's score
    counts as the best when nothing beat it."""
    best = reporter.best
    if best is None or reason is StopReason.CANCELLED:
        raise CompileStopped(reason, control.calls_finished, control.cost)
    return CompileResult(
        state=best.state,
        score=best.score,
        baseline_score=best.score if reporter.baseline is None else reporter.baseline,
        lm_calls=control.calls_finished,
        cost=control.cost,
        stop_reason=reason,
        elapsed_seconds=control.elapsed_seconds,
    )

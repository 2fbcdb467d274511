"""`compile_program`: a DSPy optimizer run off the event loop, with live progress, budgets and
prompt cancellation.

    result = await compile_program(request, on_progress=lambda p: print(p.step, p.score))

- The optimizer runs in a worker thread (`asyncio.to_thread`); `on_progress` is called on the
  event loop, in step order, never after `compile_program` has returned.
- Budgets (`max_lm_calls`, `max_cost`, `timeout_seconds`) count everything: the baseline score,
  the optimizer and the final score. No LM call starts past `max_lm_calls`; `max_cost` is checked
  before each call, so calls already under way can overshoot it. When one runs out, the result is
  the best program scored on the whole scoring set so far (maybe the uncompiled one, with its
  score), with `stop_reason` set; `CompileStopped` when even the baseline was not scored.
- Cancelling the awaiting task stops the thread at its next LM call or module call and waits for
  it (an LM request already sent is waited for), then raises CancelledError.
- DSPy cannot resume an interrupted compile: restart it from scratch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from dspex_gql.engine.optimization.dspy_compile.control import RunControl
from dspex_gql.engine.optimization.dspy_compile.model import (
    CompileFailed,
    CompileProgress,
    CompileRequest,
    CompileResult,
    CompileStopped,
    StopReason,
)
from dspex_gql.engine.optimization.dspy_compile.options import read_options
from dspex_gql.engine.optimization.dspy_compile.progress import ProgressReporter

DRAIN_SECONDS = 5.0
"""How long to wait for LM requests DSPy's threads had already sent when the compile ended."""
DRAIN_POLL_SECONDS = 0.01


async def compile_program(
    request: CompileRequest, on_progress: Callable[[CompileProgress], None]
) -> CompileResult:
    """Raises StrategyOptionsInvalid (before anything runs), CompileStopped, CompileFailed."""
    settings = read_options(
        request.optimizer,
        request.options,
        len(request.trainset),
        None if request.valset is None else len(request.valset),
    )
    run_compile = _runner()
    control = RunControl(
        max_lm_calls=request.max_lm_calls,
        max_cost=request.max_cost,
        timeout_seconds=request.timeout_seconds,
        prices=request.prices,
        out_of_quota=request.out_of_quota,
    )
    reporter = ProgressReporter(asyncio.get_running_loop(), on_progress, control)
    worker = asyncio.ensure_future(
        asyncio.to_thread(run_compile, request, settings, control, reporter)
    )
    cancelled = await _thread_finished(worker, control)
    cancelled = await _calls_drained(control) or cancelled
    if cancelled:
        raise asyncio.CancelledError
    return _with_final_counts(worker, control)


def _with_final_counts(worker: asyncio.Future[CompileResult], control: RunControl) -> CompileResult:
    """The worker's outcome, counting the LM calls that finished after it (other threads')."""
    try:
        result = worker.result()
    except CompileStopped as stopped:
        raise CompileStopped(stopped.reason, control.calls_finished, control.cost) from None
    return replace(result, lm_calls=control.calls_finished, cost=control.cost)


def _runner() -> Callable[..., CompileResult]:
    try:
        from dspex_gql.engine.optimization.dspy_compile.runner import run_compile
    except ImportError as error:
        message = f"DSPy is not installed (pip install 'dspex-gql[dspy]'): {error}"
        raise CompileFailed(message) from error
    return run_compile


async def _thread_finished(worker: asyncio.Future[CompileResult], control: RunControl) -> bool:
    """Waits for the thread, however often the awaiting task is cancelled; True if it was."""
    cancelled = False
    while not worker.done():
        try:
            await asyncio.wait({worker})
        except asyncio.CancelledError:
            cancelled = True
            control.request_stop(StopReason.CANCELLED)
    if cancelled and not worker.cancelled():
        worker.exception()  # retrieved: a cancelled compile's error is not news
    return cancelled


async def _calls_drained(control: RunControl) -> bool:
    """Waits (a bounded time) for LM calls still under way in DSPy's worker threads."""
    cancelled = False
    deadline = time.monotonic() + DRAIN_SECONDS
    while control.in_flight > 0 and time.monotonic() < deadline:
        try:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        except asyncio.CancelledError:
            cancelled = True
            control.request_stop(StopReason.CANCELLED)
    return cancelled

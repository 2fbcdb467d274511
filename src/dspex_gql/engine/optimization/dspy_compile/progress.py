"""Turns what DSPy's threads observe into numbered `CompileProgress` delivered on the event loop,
and remembers the best program scored on the whole scoring set (what a budget stop returns).

Steps are numbered and handed to `loop.call_soon_threadsafe` under one lock, so they arrive in
order, with LM call counts that never decrease. After `close()` nothing more is delivered (a
stopped compile can leave DSPy worker threads finishing behind it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dspex_gql.engine.optimization.dspy_compile.control import RunControl
from dspex_gql.engine.optimization.dspy_compile.model import CompileProgress, ProgressKind

logger = logging.getLogger(__name__)


class Phase(StrEnum):
    BASELINE = "BASELINE"
    OPTIMIZING = "OPTIMIZING"
    FINAL = "FINAL"


@dataclass(frozen=True)
class Scored:
    score: float
    state: dict[str, Any]


@dataclass(frozen=True)
class Evaluated:
    """A program scored on `examples` examples; `whole` when they are the whole scoring set."""

    program: Any
    score: float
    examples: int
    whole: bool
    total: int


class ProgressReporter:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_progress: Callable[[CompileProgress], None],
        control: RunControl,
    ) -> None:
        self.phase = Phase.BASELINE
        self.best: Scored | None = None
        self.baseline: float | None = None
        self._loop = loop
        self._on_progress = on_progress
        self._control = control
        self._lock = threading.Lock()
        self._step = 0
        self._closed = False

    def evaluated(self, evaluation: Evaluated) -> None:
        """A program scored by an evaluation (ours or the optimizer's)."""
        state = _state(evaluation.program)
        kind = self._evaluation_kind(evaluation.whole)
        if kind is ProgressKind.BASELINE:
            self.baseline = evaluation.score
        if state is not None and kind is not ProgressKind.FINAL and evaluation.whole:
            self._consider(evaluation.score, state)
        description = (
            f"scored on all {evaluation.examples} examples"
            if evaluation.whole
            else f"scored on {evaluation.examples} of {evaluation.total} examples"
        )
        self.report(kind, evaluation.score, evaluation.examples, description, state)

    def bootstrapped(self, score: float) -> None:
        verdict = "trace kept" if score > 0 else "trace rejected"
        self.report(ProgressKind.BOOTSTRAP, score, 1, f"example run with demos: {verdict}")

    def report(
        self,
        kind: ProgressKind,
        score: float | None,
        examples: int | None,
        description: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            if self._closed:
                return
            self._step += 1
            progress = CompileProgress(
                step=self._step,
                kind=kind,
                score=score,
                examples=examples,
                lm_calls=self._control.calls_finished,
                cost=self._control.cost,
                elapsed_seconds=round(self._control.elapsed_seconds, 3),
                description=description,
                candidate_state=state,
            )
            self._deliver(progress)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _evaluation_kind(self, whole: bool) -> ProgressKind:
        if self.phase is Phase.BASELINE:
            return ProgressKind.BASELINE
        if self.phase is Phase.FINAL:
            return ProgressKind.FINAL
        return ProgressKind.EVALUATION if whole else ProgressKind.MINIBATCH

    def _consider(self, score: float, state: dict[str, Any]) -> None:
        with self._lock:
            if self.best is None or score > self.best.score:
                self.best = Scored(score, state)

    def _deliver(self, progress: CompileProgress) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_progress, progress)
        except RuntimeError:
            logger.warning("progress %d dropped: the event loop is closed", progress.step)


def _state(program: Any) -> dict[str, Any] | None:
    try:
        state = program.dump_state()
    except Exception:
        logger.warning("could not dump the state of a candidate program", exc_info=True)
        return None
    return state if isinstance(state, dict) else None

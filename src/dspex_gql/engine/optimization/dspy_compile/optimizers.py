"""Each DSPy optimizer built from its settings and run on a copy of the program.

Call inside `dspy.context(lm=...)`: MIPROv2 and SIMBA take their prompt model from the settings
when they are built. MIPROv2 and GEPA score candidates on the valset, or on the training set when
there is none (instead of MIPROv2's own 20/80 split), so their full evaluations are of the same
examples as our baseline and final scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dspy

from dspex_gql.engine.optimization.dspy_compile.model import CompileRequest
from dspex_gql.engine.optimization.dspy_compile.options import (
    BootstrapSettings,
    GepaSettings,
    MiproSettings,
    OptimizerSettings,
    SimbaSettings,
)


@dataclass(frozen=True)
class Datasets:
    trainset: list[Any]
    valset: list[Any] | None

    @property
    def scoring(self) -> list[Any]:
        return self.trainset if self.valset is None else self.valset


def run_optimizer(
    settings: OptimizerSettings,
    request: CompileRequest,
    data: Datasets,
    metric: Any,
) -> Any:
    """The compiled program; `metric` is GEPA's feedback form for GEPA, else the plain one."""
    student = request.program.deepcopy()
    match settings:
        case BootstrapSettings():
            return _bootstrap(settings, student, data, metric)
        case MiproSettings():
            return _mipro(settings, student, data, metric, request)
        case SimbaSettings():
            return _simba(settings, student, data, metric, request)
        case GepaSettings():
            return _gepa(settings, student, data, metric, request)


def _bootstrap(settings: BootstrapSettings, student: Any, data: Datasets, metric: Any) -> Any:
    optimizer = dspy.BootstrapFewShot(
        metric=metric,
        max_bootstrapped_demos=settings.max_bootstrapped_demos,
        max_labeled_demos=settings.max_labeled_demos,
        max_rounds=settings.max_rounds,
    )
    return optimizer.compile(student, trainset=data.trainset)


def _mipro(
    settings: MiproSettings, student: Any, data: Datasets, metric: Any, request: CompileRequest
) -> Any:
    optimizer = dspy.MIPROv2(
        metric=metric,
        auto=settings.auto,
        num_candidates=settings.num_candidates,
        max_bootstrapped_demos=settings.max_bootstrapped_demos,
        max_labeled_demos=settings.max_labeled_demos,
        num_threads=request.num_threads,
        seed=request.seed,
        track_stats=False,
    )
    return optimizer.compile(
        student,
        trainset=data.trainset,
        valset=data.scoring,
        num_trials=settings.num_trials,
        minibatch=settings.minibatch,
        minibatch_size=settings.minibatch_size,
    )


def _simba(
    settings: SimbaSettings, student: Any, data: Datasets, metric: Any, request: CompileRequest
) -> Any:
    optimizer = dspy.SIMBA(
        metric=metric,
        bsize=settings.batch_size,
        num_candidates=settings.num_candidates,
        max_steps=settings.max_steps,
        max_demos=settings.max_demos,
        num_threads=request.num_threads,
    )
    return optimizer.compile(student, trainset=data.trainset, seed=request.seed)


def _gepa(
    settings: GepaSettings, student: Any, data: Datasets, metric: Any, request: CompileRequest
) -> Any:
    optimizer = dspy.GEPA(
        metric=metric,
        auto=settings.auto,
        max_metric_calls=settings.max_metric_calls,
        reflection_minibatch_size=settings.reflection_minibatch_size,
        reflection_lm=request.lm,
        num_threads=request.num_threads,
        seed=request.seed,
    )
    return optimizer.compile(student, trainset=data.trainset, valset=data.valset)

"""A run of one of DSPy's own optimizers (BootstrapFewShot, MIPROv2, SIMBA, GEPA).

Instead of asking a strategy for configurations, the run compiles the program's DSPy module once,
in a worker thread (`engine/optimization/dspy_compile`). Every step DSPy scores (the uncompiled
baseline, each candidate, the compiled program at the end) becomes an Evaluation, stored behind
and published like any other, with the compiled program state it scored; the best one's state is
what `applyBestConfiguration` carries into the new program version.

The configuration is not searched (evaluations have `{}`); budgets are the run's `maxCost` and
`timeoutSeconds`, the strategy option `maxLmCalls` and the organization's compute quota. An
interrupted compile cannot be resumed inside DSPy: a run taken over after a restart compiles
again from the start, keeping (and numbering after) the evaluations stored before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dspex_gql.db.base import utcnow
from dspex_gql.engine.adapters.base import AdapterRequest
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.language_models import LM_KEY
from dspex_gql.engine.optimization.base import (
    OPTIONS_FIELD,
    StrategyKind,
    StrategyOptionsInvalid,
)
from dspex_gql.engine.optimization.dspy_compile import (
    CompileFailed,
    CompileProgress,
    CompileRequest,
    CompileStopped,
    DspyOptimizer,
    Prices,
    check_options,
    compile_program,
)
from dspex_gql.errors import FieldProblem
from dspex_gql.ids import new_id
from dspex_gql.optimization_runs.job import OptimizationJob, OptimizationPlan
from dspex_gql.optimization_runs.models import Evaluation
from dspex_gql.runs import RunFailed, Runs
from dspex_gql.storable_input import made_storable

MAX_LM_CALLS = "maxLmCalls"
"""The strategy option every DSPy optimizer takes beside its own: a budget of LM calls."""


def job_for(runs: Runs, invoker: ProgramInvoker, plan: OptimizationPlan) -> OptimizationJob:
    """The job that runs `plan`: a search, or a DSPy compile."""
    if plan.strategy_kind.compiles:
        return CompileJob(runs, invoker, plan)
    return OptimizationJob(runs, invoker, plan)


def own_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options the DSPy optimizer itself reads: all but `maxLmCalls`."""
    return {key: value for key, value in options.items() if key != MAX_LM_CALLS}


def check_compile_options(kind: StrategyKind, options: Mapping[str, Any], examples: int) -> None:
    """StrategyOptionsInvalid listing every problem with a DSPy optimizer's options."""
    problems: list[FieldProblem] = []
    try:
        check_options(DspyOptimizer(kind.value), own_options(options), examples)
    except StrategyOptionsInvalid as invalid:
        problems += invalid.problems
    budget = options.get(MAX_LM_CALLS)
    if budget is not None and (type(budget) is not int or budget < 1):
        field = f"{OPTIONS_FIELD}.{MAX_LM_CALLS}"
        problems.append(FieldProblem(field, "must be an integer of at least 1", "out_of_range"))
    if problems:
        raise StrategyOptionsInvalid(problems)


class CompileJob(OptimizationJob):
    def __init__(self, runs: Runs, invoker: ProgramInvoker, plan: OptimizationPlan) -> None:
        super().__init__(runs, invoker, plan)
        self._cost_recorded = 0.0
        self._seconds_recorded = 0.0
        self._examples = len(plan.examples)

    async def perform(self) -> dict[str, Any]:
        try:
            result = await compile_program(await self._request(), self._record)
        except CompileStopped as stopped:
            return {"results": self._results(stopped.reason.value.lower())}
        except CompileFailed as failed:
            raise RunFailed(made_storable(str(failed))) from failed
        reason = "compiled" if result.stop_reason is None else result.stop_reason.value.lower()
        results = self._results(reason) | {
            "baselineScore": result.baseline_score,
            "compiledScore": result.score,
            "lmCalls": result.lm_calls,
        }
        return {"results": results}

    async def _request(self) -> CompileRequest:
        from dspex_gql.engine.adapters.dspy.configuration import request_parameters
        from dspex_gql.engine.adapters.dspy.lm import language_model
        from dspex_gql.engine.adapters.dspy.modules import build_module

        plan, program = self.plan, self.plan.program
        configuration = dict(program.configuration)
        spec = program.language_models.get(str(configuration.get(LM_KEY)))
        if spec is None:
            raise RunFailed(f"no language model named '{configuration.get(LM_KEY)}'")
        module = await build_module(
            AdapterRequest(
                program_type=program.type,
                signature=program.signature,
                instructions=program.instructions,
                inputs={},
                configuration=configuration,
                language_models=program.language_models,
                state=program.state,
            )
        )
        limits, spent = plan.limits, self.state.total_cost
        return CompileRequest(
            optimizer=DspyOptimizer(plan.strategy_kind.value),
            program=module,
            lm=language_model(spec, request_parameters({**spec.defaults, **configuration})),
            trainset=[{"inputs": e.inputs, "expected": e.expected} for e in plan.examples],
            metric=plan.metric,
            output_names=program.signature.output_names,
            options=own_options(plan.strategy_options),
            max_lm_calls=plan.strategy_options.get(MAX_LM_CALLS),
            max_cost=None if limits.max_cost is None else max(0.0, limits.max_cost - spent),
            timeout_seconds=self._seconds_left(),
            prices=Prices(
                spec.prompt_price_per_million or 0.0, spec.completion_price_per_million or 0.0
            ),
            seed=plan.seed,
            num_threads=plan.concurrency,
            out_of_quota=lambda: self.quota_used_up,
        )

    def _record(self, progress: CompileProgress) -> None:
        """A step that scored something becomes an Evaluation, stored and published with the
        next state, with the compute time since the last one (counted against the quota)."""
        if progress.score is None:
            return
        evaluation = self._evaluation(progress)
        self._cost_recorded = progress.cost
        self.uncounted_seconds += progress.elapsed_seconds - self._seconds_recorded
        self._seconds_recorded = progress.elapsed_seconds
        self.state.add(evaluation)
        self.unstored.append(evaluation)
        self.report()

    def _evaluation(self, progress: CompileProgress) -> Evaluation:
        plan = self.plan
        on_all = progress.examples is None or progress.examples >= self._examples
        return Evaluation(
            id=new_id(),
            organization_id=plan.organization_id,
            optimization_run_id=plan.id,
            iteration=self.state.iterations,
            configuration={},
            score=progress.score,
            cost=progress.cost - self._cost_recorded,
            latency_ms=None,
            metrics={
                "step": progress.step,
                "kind": progress.kind.value,
                "examples": progress.examples,
                "lmCalls": progress.lm_calls,
                "description": progress.description,
                "elapsedSeconds": progress.elapsed_seconds,
            },
            status="COMPLETED",
            examples=None if on_all else [],
            example_scores=[],
            program_state=made_storable(progress.candidate_state),
            created_at=utcnow(),
        )

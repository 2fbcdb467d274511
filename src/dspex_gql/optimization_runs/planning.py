"""Builds what a run's loop needs from its stored row: at start, and again to resume it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.engine.evaluation import Example, ProgramUnderTest
from dspex_gql.engine.language_models import (
    LM_ADAPTER,
    LanguageModelSpec,
    named_models,
    space_models,
)
from dspex_gql.engine.optimization import (
    Candidate,
    Direction,
    MetricRegistry,
    Objective,
    Outcome,
    Strategy,
    StrategyKind,
    create_strategy,
)
from dspex_gql.engine.variables import SearchSpace
from dspex_gql.language_models.specs import require_language_models
from dspex_gql.optimization_runs.compiling import check_compile_options
from dspex_gql.optimization_runs.job import Limits, OptimizationPlan
from dspex_gql.optimization_runs.models import Evaluation, OptimizationRun
from dspex_gql.optimization_runs.state import objective_values
from dspex_gql.programs.models import Program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.repository import SignatureRepository
from dspex_gql.signatures.stored import engine_signature
from dspex_gql.variable_spaces.stored import stored_space


def run_space(run: OptimizationRun) -> SearchSpace:
    """The variable space as it was when the run started."""
    return stored_space(run.space["variables"], run.space["dependencies"])


def objectives_of(run: OptimizationRun) -> tuple[Objective, ...]:
    return tuple(Objective(o["name"], Direction(o["direction"])) for o in run.objectives)


def strategy_for(run: OptimizationRun, history: Sequence[Evaluation] = ()) -> Strategy | None:
    """The run's strategy; given stored evaluations, rebuilt from them to continue after them.
    None for DSPy's optimizers, which compile instead (their options checked here all the same).
    """
    examples = len(run.training_data) if isinstance(run.training_data, list) else 0
    if run.strategy.compiles:
        check_compile_options(run.strategy, run.strategy_options, examples)
        return None
    objectives = objectives_of(run)
    told = [
        (_candidate(e), Outcome(objective_values(e, objectives), tuple(e.example_scores)))
        for e in history
    ]
    return create_strategy(
        run.strategy,
        run_space(run),
        objectives,
        seed=run.seed,
        example_count=examples,
        options=run.strategy_options,
        history=told,
    )


def _candidate(evaluation: Evaluation) -> Candidate:
    examples = None if evaluation.examples is None else tuple(evaluation.examples)
    return Candidate(evaluation.iteration, evaluation.configuration, examples)


def plan_for(
    metrics: MetricRegistry,
    run: OptimizationRun,
    program: Program,
    signature: Signature,
    language_models: Mapping[str, LanguageModelSpec],
    history: Sequence[Evaluation] = (),
    strategy: Strategy | None = None,
) -> OptimizationPlan:
    """`strategy`: when the run starts, the one its checks built; else rebuilt from `history`."""
    under_test = ProgramUnderTest(
        adapter=program.adapter,
        implementation=program.implementation,
        type=program.type,
        signature=engine_signature(signature),
        instructions=signature.instructions,
        configuration=dict(program.configuration),
        language_models=language_models,
        state=program.compiled_state,
    )
    assert run.process_id is not None, "a run is planned by the process that runs it"
    return OptimizationPlan(
        id=run.id,
        organization_id=run.organization_id,
        program_id=program.id,
        process_id=run.process_id,
        program=under_test,
        examples=[Example(e["inputs"], e["expected"]) for e in run.training_data],
        metric=metrics.get(run.metric),
        objectives=objectives_of(run),
        strategy=strategy or strategy_for(run, history),
        limits=Limits(run.max_iterations, run.max_cost, run.timeout_seconds),
        patience=run.patience,
        concurrency=run.concurrency,
        sequence=run.sequence,
        started_at=run.started_at,
        history=list(history),
        offload=run.strategy in (StrategyKind.BAYESIAN, StrategyKind.EVOLUTIONARY),
        strategy_kind=run.strategy,
        strategy_options=run.strategy_options,
        seed=run.seed or 0,
    )


async def run_language_models(
    session: AsyncSession, run: OptimizationRun, program: Program, secrets: SecretBox
) -> dict[str, LanguageModelSpec]:
    """The language models a run of a `dspy` program may use: the one its configuration names
    and every one its variable space can choose; ValidationFailed naming one that is missing."""
    if program.adapter != LM_ADAPTER:
        return {}
    names = named_models(program.configuration) | space_models(run_space(run))
    return await require_language_models(
        session, program.organization_id, names, secrets, "variableSpaceId"
    )


async def load_plan(
    session: AsyncSession,
    metrics: MetricRegistry,
    secrets: SecretBox,
    run: OptimizationRun,
    history: Sequence[Evaluation],
) -> OptimizationPlan:
    """For a run resumed by the system (no actor): its program and signature as stored."""
    program = await ProgramRepository(session, run.organization_id).require(run.program_id)
    signature = await SignatureRepository(session, run.organization_id).require(
        program.signature_id
    )
    models = await run_language_models(session, run, program, secrets)
    return plan_for(metrics, run, program, signature, models, history)

"""Optimization use cases: start (validate, one insert, return at once), cancel, apply the best
configuration, watch progress and the Pareto frontier, variable importance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql import policies
from dspex_gql.accounts.quota import ensure_compute_left
from dspex_gql.audit import recorder as audit
from dspex_gql.config import OptimizationSettings
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.language_models import LM_ADAPTER
from dspex_gql.engine.optimization import MetricRegistry, variable_importance
from dspex_gql.errors import Conflict, NotFound, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.optimization_runs.checks import StartOptimization, checked_run
from dspex_gql.optimization_runs.compiling import job_for
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.job import OPTIMIZATIONS
from dspex_gql.optimization_runs.models import Evaluation, OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import plan_for, run_language_models, run_space
from dspex_gql.optimization_runs.repository import (
    EvaluationRepository,
    OptimizationRunRepository,
    OptimizationStats,
)
from dspex_gql.programs.models import Program, ProgramStatus, derived_program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.pubsub import Hub, channels
from dspex_gql.resource import ResourceService
from dspex_gql.runs import Runs
from dspex_gql.runs.runs import CANCELLED_BY_USER
from dspex_gql.runs.watching import follow
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.repository import SignatureRepository
from dspex_gql.variable_spaces.models import VariableSpace
from dspex_gql.variable_spaces.repository import VariableSpaceRepository


@dataclass(frozen=True)
class EvaluationBatch:
    """A run as stored, and its evaluations stored after the previous batch (all, in the first)."""

    run: OptimizationRun
    evaluations: list[Evaluation]
    after_iteration: int
    """The last iteration sent so far: the next batch starts after it."""

    @property
    def status(self) -> OptimizationStatus:
        return self.run.status

    @property
    def sequence(self) -> int:
        return self.run.sequence


@dataclass(frozen=True)
class Importance:
    variable: str
    importance: float


NO_ITERATION = -1
"""Before the first iteration (0)."""


class OptimizationService(ResourceService[OptimizationRun, OptimizationRunRepository]):
    repository = OptimizationRunRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        runs: Runs,
        invoker: ProgramInvoker,
        hub: Hub,
        metrics: MetricRegistry,
        settings: OptimizationSettings,
        secrets: SecretBox,
    ) -> None:
        super().__init__(uow, actor)
        self._runs = runs
        self._invoker = invoker
        self._hub = hub
        self._metrics = metrics
        self._settings = settings
        self._secrets = secrets

    def _programs(self, tx: UnitOfWork) -> ProgramRepository:
        return ProgramRepository(tx.session, self._actor.organization_id, self._actor)

    async def start(self, start: StartOptimization) -> OptimizationRun:
        policies.ensure_can_create(self._actor, "optimization runs")
        process_id = await self._runs.owner()
        async with self._uow() as tx:
            program = await self._programs(tx).require(start.program_id)
            policies.ensure_can_change(self._actor, program, "program")
            space = await self._space(tx, start.variable_space_id or program.variable_space_id)
            signature = await SignatureRepository(tx.session, program.organization_id).require(
                program.signature_id
            )
            run, strategy = checked_run(start, space, signature, self._metrics, self._settings)
            _ensure_compilable(program, run)
            models = await run_language_models(tx.session, run, program, self._secrets)
            _ensure_startable(program)
            await ensure_compute_left(tx, self._actor.organization_id)
            run.program_id, run.variable_space_id = program.id, space.id
            run.process_id = process_id
            self._repo(tx).add(run, created_by=self._actor.user_id)
            program.status = ProgramStatus.OPTIMIZING
            await tx.session.flush()
            audit.record(
                tx, self._actor, "optimization.start", "OptimizationRun", run.id, _started(run)
            )
            plan = plan_for(self._metrics, run, program, signature, models, strategy=strategy)
            job = job_for(self._runs, self._invoker, plan)
            await self._runs.launch(tx, job, OptimizationChanged.of(run))
            return run

    async def cancel(self, id: UUID) -> OptimizationRun:
        """Cancel a run: whoever started it, or an admin."""
        run = await self.get(id)
        policies.ensure_can_change(self._actor, run, "optimization run")

        def record_in_audit_log(tx: UnitOfWork) -> None:
            changes = {"status": [run.status, OptimizationStatus.CANCELLED]}
            audit.record(tx, self._actor, "optimization.cancel", "OptimizationRun", id, changes)

        await self._runs.cancel(
            self._uow, OPTIMIZATIONS, run, CANCELLED_BY_USER, record_in_audit_log, by=self._actor
        )
        return await self.get(id)

    async def apply_best(self, id: UUID) -> Program:
        """A new version of the program (a child of it) carrying the run's best configuration."""
        policies.ensure_can_create(self._actor, "programs")
        async with self._uow() as tx:
            run = await self._repo(tx).require(id)
            if run.best_configuration is None:
                raise Conflict("The optimization has no successful evaluation to apply yet")
            source = await self._programs(tx).require(run.program_id)
            metrics = {
                "optimizationRunId": str(run.id),
                "metric": run.metric,
                "score": run.best_score,
            }
            program = derived_program(
                source,
                name=f"{source.name} (optimized)",
                configuration={**source.configuration, **run.best_configuration},
                version=source.version + 1,
                performance_metrics=metrics,
                compiled_state=run.best_program_state,
            )
            self._programs(tx).add(program, created_by=self._actor.user_id)
            await tx.session.flush()
            changes = {"optimizationRunId": run.id, "configuration": program.configuration}
            audit.record(tx, self._actor, "optimization.applyBest", "Program", program.id, changes)
            return program

    async def watch(self, id: UUID) -> AsyncIterator[OptimizationRun]:
        """The run now, then as it changes (at most `progress_messages_per_second`), until it
        ends. Between messages, events coalesce: the next message is the latest state."""
        interval = 1 / self._settings.progress_messages_per_second
        channel = channels.optimization_run(id)
        async with self._hub.subscribe(channel, OptimizationChanged) as events:
            current = await self.get(id)
            async for run in follow(current, events, self._reread, interval):
                yield run

    async def _reread(self, _: OptimizationRun, event: OptimizationChanged) -> OptimizationRun:
        """Progress (the frontier, the best configuration) lives in the store."""
        return await self.get(event.id)

    async def watch_frontier(self, id: UUID) -> AsyncIterator[list[dict[str, Any]]]:
        """The frontier now, then each time it changes, until the run ends."""
        last: list[dict[str, Any]] | None = None
        async for run in self.watch(id):
            if run.pareto_frontier != last:
                last = run.pareto_frontier
                yield last

    async def watch_evaluations(self, id: UUID) -> AsyncIterator[list[Evaluation]]:
        """Every evaluation stored so far, then each batch stored since the previous message (at
        most `progress_messages_per_second` messages), until the run ends."""
        interval = 1 / self._settings.progress_messages_per_second
        channel = channels.optimization_run(id)
        async with self._hub.subscribe(channel, OptimizationChanged) as events:
            first = await self._evaluations_after(id, NO_ITERATION)
            async for batch in follow(first, events, self._next_evaluations, interval):
                if batch.evaluations or batch is first:
                    yield batch.evaluations

    async def _next_evaluations(
        self, previous: EvaluationBatch, _: OptimizationChanged
    ) -> EvaluationBatch:
        return await self._evaluations_after(previous.run.id, previous.after_iteration)

    async def _evaluations_after(self, id: UUID, iteration: int) -> EvaluationBatch:
        """Iterations only grow, and a run's evaluations are stored with its state: those read
        after a state include every one of it."""
        async with self._uow.read() as tx:
            run = await self._repo(tx).require(id)
            evaluations = await EvaluationRepository(
                tx.session, self._actor.organization_id, self._actor
            ).of_run_after(id, iteration)
        last = evaluations[-1].iteration if evaluations else iteration
        return EvaluationBatch(run, evaluations, last)

    async def stats(self, program_ids: Iterable[UUID]) -> dict[UUID, OptimizationStats]:
        wanted = list(program_ids)
        async with self._uow.read() as tx:
            found = await self._repo(tx).stats(wanted)
        return {id: found.get(id, OptimizationStats()) for id in wanted}

    async def evaluation_counts(self, ids: Iterable[UUID]) -> dict[UUID, tuple[int, float | None]]:
        async with self._uow.read() as tx:
            repo = EvaluationRepository(tx.session, self._actor.organization_id)
            return await repo.counts(ids)

    async def importance(
        self, space_id: UUID, run_ids: Sequence[UUID] | None = None
    ) -> list[Importance]:
        """From the evaluations of the given runs over the space (all its runs by default)."""
        async with self._uow.read() as tx:
            space = await VariableSpaceRepository(
                tx.session, self._actor.organization_id, self._actor
            ).require(space_id)
            runs = await self._runs_over(tx, space, run_ids)
            evaluations = await EvaluationRepository(
                tx.session, self._actor.organization_id
            ).of_runs([run.id for run in runs])
        trials = [(e.configuration, e.score) for e in evaluations if e.score is not None]
        if not runs:
            return []
        # fANOVA over 1,000 evaluations takes ~170 ms: off the event loop, which serves the rest
        ranked = await asyncio.to_thread(variable_importance, run_space(runs[0]), trials)
        return [Importance(name, value) for name, value in ranked.items()]

    async def _runs_over(
        self, tx: UnitOfWork, space: VariableSpace, run_ids: Sequence[UUID] | None
    ) -> list[OptimizationRun]:
        repo = self._repo(tx)
        if run_ids is None:
            return await repo.over_space(space.id)
        found = await repo.get_many(run_ids)
        for run_id in run_ids:
            run = found.get(run_id)
            if run is None or run.variable_space_id != space.id:
                raise NotFound("OptimizationRun", run_id)
        return [found[run_id] for run_id in run_ids]

    async def _space(self, tx: UnitOfWork, id: UUID | None) -> VariableSpace:
        if id is None:
            message = "give variableSpaceId, or attach a variable space to the program"
            raise ValidationFailed.single("variableSpaceId", message, "required")
        return await VariableSpaceRepository(
            tx.session, self._actor.organization_id, self._actor
        ).require(id)


class EvaluationService(ResourceService[Evaluation, EvaluationRepository]):
    repository = EvaluationRepository


def _ensure_compilable(program: Program, run: OptimizationRun) -> None:
    if run.strategy.compiles and program.adapter != LM_ADAPTER:
        message = (
            f"DSPy's optimizers compile '{LM_ADAPTER}' programs; "
            f"this program runs on the '{program.adapter}' adapter"
        )
        raise ValidationFailed.single("strategy", message, "invalid")


def _ensure_startable(program: Program) -> None:
    if program.status == ProgramStatus.OPTIMIZING:
        raise Conflict("The program is already being optimized; cancel that run first")
    if program.status != ProgramStatus.READY:
        raise Conflict(
            f"The program is {program.status.value}; only READY programs can be optimized"
        )


def _started(run: OptimizationRun) -> dict[str, Any]:
    return {
        "name": run.name,
        "programId": run.program_id,
        "variableSpaceId": run.variable_space_id,
        "strategy": run.strategy,
        "metric": run.metric,
        "maxIterations": run.max_iterations,
        "trainingExamples": len(run.training_data),
    }

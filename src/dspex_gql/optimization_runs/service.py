"""Optimization use cases: start (validate, one insert, return at once), cancel, apply the best
configuration, watch progress and the Pareto frontier, variable importance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql import policies
from dspex_gql.accounts.quota import ensure_compute_left
from dspex_gql.audit import recorder as audit
from dspex_gql.config import OptimizationSettings
from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import Recorded
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.optimization import MetricRegistry, variable_importance
from dspex_gql.errors import Conflict, NotFound, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.optimization_runs.checks import StartOptimization, checked_run
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.models import Evaluation, OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import plan_for, run_space
from dspex_gql.optimization_runs.repository import (
    EvaluationRepository,
    OptimizationRunRepository,
    OptimizationStats,
)
from dspex_gql.optimization_runs.runner import OptimizationRunner
from dspex_gql.orchestrator import Orchestrator
from dspex_gql.programs.models import Program, ProgramStatus, derived_program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.pubsub import Hub, channels
from dspex_gql.resource import ResourceService
from dspex_gql.signatures.repository import SignatureRepository
from dspex_gql.variable_spaces.models import VariableSpace
from dspex_gql.variable_spaces.repository import VariableSpaceRepository

CANCELLED_BY_USER = "Cancelled by user"


@dataclass(frozen=True)
class Importance:
    variable: str
    importance: float


class OptimizationService(ResourceService[OptimizationRun]):
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        orchestrator: Orchestrator,
        runner: OptimizationRunner,
        hub: Hub,
        metrics: MetricRegistry,
        settings: OptimizationSettings,
    ) -> None:
        super().__init__(uow, actor)
        self._orchestrator = orchestrator
        self._runner = runner
        self._hub = hub
        self._metrics = metrics
        self._settings = settings

    def _repo(self, tx: UnitOfWork) -> OptimizationRunRepository:
        return OptimizationRunRepository(tx.session, self._actor.organization_id, self._actor)

    def _programs(self, tx: UnitOfWork) -> ProgramRepository:
        return ProgramRepository(tx.session, self._actor.organization_id, self._actor)

    async def start(self, start: StartOptimization) -> OptimizationRun:
        policies.ensure_can_create(self._actor, "optimization runs")
        process_id = await self._runner.lease.held()
        async with self._uow() as tx:
            program = await self._programs(tx).require(start.program_id)
            policies.ensure_can_change(self._actor, program, "program")
            space = await self._space(tx, start.variable_space_id or program.variable_space_id)
            signature = await SignatureRepository(tx.session, program.organization_id).require(
                program.signature_id
            )
            run = checked_run(start, space, signature, self._metrics, self._settings)
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
            job = self._runner.job(plan_for(self._metrics, run, program, signature))
            tx.after_commit(lambda: self._orchestrator.submit(job))
            tx.after_commit(lambda: self._runner.announce(state_event(run)))
            return run

    async def cancel(self, id: UUID) -> OptimizationRun:
        """Cancel a run: whoever started it, or an admin."""
        run = await self.get(id)
        policies.ensure_can_change(self._actor, run, "optimization run")
        if run.status.is_terminal:
            raise Conflict(f"The optimization already finished ({run.status.value})")
        key = ("optimization", id)
        if self._orchestrator.cancelling(key):
            raise Conflict("The optimization is already being cancelled")
        if await self._orchestrator.cancel(key, CANCELLED_BY_USER):
            async with self._uow() as tx:
                self._audit_cancel(tx, run)
        else:
            await self._cancel_unowned(run)
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
        async with self._hub.subscribe(
            channels.optimization_run(id), OptimizationChanged
        ) as events:
            current = await self.get(id)
            yield current
            sent = time.monotonic()
            if current.status.is_terminal:
                return
            async for event in events:
                if event.sequence <= current.sequence:
                    continue
                await asyncio.sleep(max(0.0, sent + interval - time.monotonic()))
                current = await self.get(id)
                yield current
                sent = time.monotonic()
                if current.status.is_terminal:
                    return

    async def watch_frontier(self, id: UUID) -> AsyncIterator[list[dict[str, Any]]]:
        """The frontier now, then each time it changes, until the run ends."""
        last: list[dict[str, Any]] | None = None
        async for run in self.watch(id):
            if run.pareto_frontier != last:
                last = run.pareto_frontier
                yield last

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
        ranked = variable_importance(run_space(runs[0]), trials)
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

    def _audit_cancel(self, tx: UnitOfWork, run: OptimizationRun) -> None:
        changes = {"status": [run.status, OptimizationStatus.CANCELLED]}
        audit.record(tx, self._actor, "optimization.cancel", "OptimizationRun", run.id, changes)

    async def _cancel_unowned(self, run: OptimizationRun) -> None:
        """A run no task of this process owns (another replica's, or an orphan): cancel in place."""
        async with self._uow() as tx:
            sequence = run.sequence + 1
            values = {
                "status": OptimizationStatus.CANCELLED,
                "error": CANCELLED_BY_USER,
                "completed_at": utcnow(),
            }
            if await self._repo(tx).record(run.id, sequence, values) is not Recorded.APPLIED:
                raise Conflict("The optimization finished before it could be cancelled")
            await ProgramRepository(tx.session, run.organization_id).finish_optimization(
                run.program_id
            )
            self._audit_cancel(tx, run)
            run.status, run.sequence = OptimizationStatus.CANCELLED, sequence
            event = state_event(run)
            tx.after_commit(lambda: self._runner.announce(event))


class EvaluationService(ResourceService[Evaluation]):
    def _repo(self, tx: UnitOfWork) -> EvaluationRepository:
        return EvaluationRepository(tx.session, self._actor.organization_id, self._actor)


def _ensure_startable(program: Program) -> None:
    if program.status == ProgramStatus.OPTIMIZING:
        raise Conflict("The program is already being optimized; cancel that run first")
    if program.status != ProgramStatus.READY:
        raise Conflict(
            f"The program is {program.status.value}; only READY programs can be optimized"
        )


def state_event(run: OptimizationRun) -> OptimizationChanged:
    return OptimizationChanged(
        id=run.id,
        program_id=run.program_id,
        sequence=run.sequence,
        status=run.status,
        iterations_completed=run.iterations_completed,
        best_score=run.best_score,
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

"""Runs one optimization: ask the strategy, evaluate, tell, record; until a stop rule holds.

PENDING → RUNNING → COMPLETED (a stop rule: max iterations, cost budget, timeout, convergence,
exhausted grid) | FAILED | CANCELLED. Evaluations and progress are written behind, together, at
most every progress interval; the terminal state at once. A run stopped by a shutdown stays
RUNNING, and the next process to sweep resumes it from its stored evaluations
(`ResumedOptimizations`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import Recorded
from dspex_gql.engine.evaluation import Example, ProgramUnderTest, evaluate
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.optimization import (
    Candidate,
    Concludes,
    Metric,
    Objective,
    Outcome,
    Strategy,
)
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.models import Evaluation, OptimizationStatus
from dspex_gql.optimization_runs.repository import OptimizationRunRepository
from dspex_gql.optimization_runs.state import RunState, objective_values
from dspex_gql.orchestrator import (
    SHUTDOWN_REASON,
    SUPERSEDED,
    Progress,
    ProgressReporter,
    cancel_reason,
    uninterrupted,
)
from dspex_gql.orchestrator.lease import ProcessLease
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.pubsub import Hub, channels

logger = logging.getLogger(__name__)
T = TypeVar("T")
LANE = "optimization"
"""The orchestrator lane of optimization loops (`DSPEX_OPTIMIZATION_MAX_RUNNING` at once)."""


@dataclass(frozen=True)
class Limits:
    max_iterations: int
    max_cost: float | None = None
    timeout_seconds: float | None = None


@dataclass
class OptimizationPlan:
    """Everything the loop needs, captured when the run starts (or resumes)."""

    id: UUID
    organization_id: UUID
    program_id: UUID
    process_id: UUID
    """The process that runs it (its lease): a run taken over by another is not written to."""
    program: ProgramUnderTest
    examples: list[Example]
    metric: Metric
    objectives: tuple[Objective, ...]
    strategy: Strategy
    limits: Limits
    patience: int | None
    concurrency: int
    sequence: int
    started_at: datetime | None
    history: list[Evaluation] = field(default_factory=list)
    offload: bool = False
    """Ask and tell in a worker thread: Optuna's samplers take milliseconds of CPU per call,
    which would otherwise hold up every request this process serves."""


class OptimizationRunner:
    """Shared by every run of the process."""

    def __init__(
        self, reporter: ProgressReporter, hub: Hub, lease: ProcessLease, invoker: ProgramInvoker
    ) -> None:
        self.reporter = reporter
        self.hub = hub
        self.lease = lease
        self.invoker = invoker

    def job(self, plan: OptimizationPlan) -> OptimizationJob:
        return OptimizationJob(self, plan)

    async def announce(self, event: OptimizationChanged) -> None:
        await self.hub.publish(channels.optimization_run(event.id), event)


class OptimizationJob:
    def __init__(self, runner: OptimizationRunner, plan: OptimizationPlan) -> None:
        self.runner = runner
        self.plan = plan
        self.sequence = plan.sequence
        self.state = RunState.start(plan.objectives, plan.patience)
        for evaluation in plan.history:
            self.state.add(evaluation)
        self.unwritten: list[Evaluation] = []
        """Evaluations not stored yet: they go with the next state written."""
        self.uncounted_seconds = 0.0
        """Compute not counted against the organization's quota yet: likewise."""
        self.quota_used_up = False
        self.started_at = plan.started_at  # set when the job starts; kept across a resume
        self._task: asyncio.Task[Any] | None = None

    lane = LANE

    @property
    def key(self) -> tuple[str, UUID]:
        return ("optimization", self.plan.id)

    async def run(self) -> None:
        self._task = asyncio.current_task()
        self.started_at = self.started_at or utcnow()
        self._report(OptimizationStatus.RUNNING)
        try:
            async with asyncio.timeout(self._seconds_left()):
                reason = await self._loop()
        except TimeoutError:
            await self._complete("timeout")
        except asyncio.CancelledError as error:
            await self._stop(cancel_reason(error))
            raise
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            logger.exception("optimization %s failed (error id %s)", self.plan.id, error_id)
            await self._finish(
                OptimizationStatus.FAILED, error=f"Internal error (error id {error_id})"
            )
        else:
            await self._complete(reason)

    async def abandon(self, reason: str) -> None:
        await self._stop(reason)

    async def _loop(self) -> str:
        plan = self.plan
        while True:
            if reason := self._stop_rule():
                return reason
            candidate = await self._next_candidate()
            if candidate is None:
                return "grid_exhausted"
            evaluation, outcome = await self._evaluate(candidate)
            await self._call(plan.strategy.tell, candidate, outcome)
            self.state.add(evaluation)
            self.unwritten.append(evaluation)
            self._report(OptimizationStatus.RUNNING)

    async def _next_candidate(self) -> Candidate | None:
        strategy, limits = self.plan.strategy, self.plan.limits
        if isinstance(strategy, Concludes) and self.state.iterations == limits.max_iterations - 1:
            return strategy.conclude()
        return await self._call(strategy.ask)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self.plan.offload:
            return await asyncio.to_thread(function, *args)
        return function(*args)

    def _stop_rule(self) -> str | None:
        limits, state = self.plan.limits, self.state
        if state.iterations >= limits.max_iterations:
            return "max_iterations"
        if limits.max_cost is not None and state.total_cost >= limits.max_cost:
            return "max_cost"
        if state.tracker.converged:
            return "converged"
        if self.quota_used_up:
            return "compute_quota"
        return None

    async def _evaluate(self, candidate: Candidate) -> tuple[Evaluation, Outcome]:
        plan = self.plan
        indices = list(candidate.examples) if candidate.examples is not None else None
        examples = plan.examples if indices is None else [plan.examples[i] for i in indices]
        started = time.perf_counter()
        result = await evaluate(
            self.runner.invoker,
            plan.program,
            candidate.configuration,
            examples,
            plan.metric,
            plan.concurrency,
        )
        self.uncounted_seconds += time.perf_counter() - started
        scores = tuple(example.score for example in result.examples)
        evaluation = Evaluation(
            id=uuid.uuid4(),
            organization_id=plan.organization_id,
            optimization_run_id=plan.id,
            iteration=candidate.number,
            configuration=candidate.configuration,
            score=result.score,
            cost=result.cost,
            latency_ms=result.latency_ms,
            metrics=_metrics(result.examples, result.errors),
            status="FAILED" if result.failed else "COMPLETED",
            examples=indices,
            example_scores=list(scores),
            created_at=utcnow(),
        )
        values = objective_values(evaluation, plan.objectives)
        return evaluation, Outcome(values=values, example_scores=scores)

    def _seconds_left(self) -> float | None:
        limit = self.plan.limits.timeout_seconds
        if limit is None:
            return None
        started = self.started_at or utcnow()
        return max(0.0, limit - (utcnow() - started).total_seconds())

    async def _complete(self, reason: str) -> None:
        state = self.state
        results = {
            "stopReason": reason,
            "evaluations": state.iterations,
            "failedEvaluations": state.failures,
            "totalCost": state.total_cost,
            "bestIteration": None if state.best is None else state.best.iteration,
        }
        await self._finish(OptimizationStatus.COMPLETED, results=results)

    async def _stop(self, reason: str) -> None:
        """A shutdown leaves the run RUNNING, its evaluations stored, for the next start; a run
        that moved on without this job is left as it is."""
        if reason == SUPERSEDED:
            return
        if reason == SHUTDOWN_REASON:
            await uninterrupted(
                self.runner.reporter.finish(self._progress(OptimizationStatus.RUNNING))
            )
            return
        await self._finish(OptimizationStatus.CANCELLED, error=reason)

    async def _finish(self, status: OptimizationStatus, **values: Any) -> None:
        progress = self._progress(status, completed_at=utcnow(), **values)
        await uninterrupted(self.runner.reporter.finish(progress))

    def _report(self, status: OptimizationStatus, **values: Any) -> None:
        self.runner.reporter.report(self._progress(status, **values))

    def _progress(self, status: OptimizationStatus, **values: Any) -> Progress:
        self.sequence += 1
        state = self.state
        columns = {"status": status, "started_at": self.started_at, **state.snapshot(), **values}
        event = OptimizationChanged(
            id=self.plan.id,
            program_id=self.plan.program_id,
            sequence=self.sequence,
            status=status,
            iterations_completed=state.iterations,
            best_score=columns["best_score"],
        )
        write = StateWrite(self, self.sequence, columns)
        return Progress(
            key=self.key,
            write=write.apply,
            announce=lambda: self.runner.announce(event),
            stored=write.stored,
            superseded=self._stop_quietly,
        )

    def _stop_quietly(self) -> None:
        """The run moved on without this job (cancelled elsewhere, or taken over): stop."""
        if self._task is not None:
            self._task.cancel(SUPERSEDED)


@dataclass
class StateWrite:
    """One state of a run, stored with the evaluations and the compute since the last one."""

    job: OptimizationJob
    sequence: int
    columns: dict[str, Any]
    evaluations: int = 0
    seconds: float = 0.0

    async def apply(self, session: AsyncSession) -> bool:
        plan = self.job.plan
        repo = OptimizationRunRepository(session, plan.organization_id)
        recorded = await repo.record(plan.id, self.sequence, self.columns, plan.process_id)
        if recorded is Recorded.APPLIED:
            await self._store_what_came_since(session)
        return recorded is not Recorded.SUPERSEDED

    def stored(self) -> None:
        job = self.job
        del job.unwritten[: self.evaluations]
        job.uncounted_seconds -= self.seconds
        self.evaluations, self.seconds = 0, 0.0

    async def _store_what_came_since(self, session: AsyncSession) -> None:
        job, plan = self.job, self.job.plan
        batch = list(job.unwritten)
        session.add_all(batch)
        await session.flush()
        self.evaluations, self.seconds = len(batch), job.uncounted_seconds
        if self.seconds > 0:
            organizations = OrganizationRepository(session)
            left = await organizations.add_compute(plan.organization_id, self.seconds)
            job.quota_used_up = not left
        if self.columns["status"].is_terminal:
            await ProgramRepository(session, plan.organization_id).finish_optimization(
                plan.program_id
            )


def _metrics(examples: Any, errors: list[str]) -> dict[str, Any]:
    answered = [example for example in examples if example.error is None]
    return {
        "examples": len(examples),
        "failures": len(examples) - len(answered),
        "errors": errors,
    }

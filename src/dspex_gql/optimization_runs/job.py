"""One optimization: ask the strategy, evaluate, tell; until a stop rule holds.

PENDING → RUNNING → COMPLETED (a stop rule: max iterations, cost budget, timeout, convergence,
exhausted grid) | FAILED | CANCELLED, as every run lives (`runs/lifecycle.py`). Evaluations are
stored with the next state written (behind, at most every progress interval). A run stopped by
a shutdown stays RUNNING, and the next process to sweep resumes it from its stored evaluations
(`ResumedOptimizations`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.db.base import utcnow
from dspex_gql.engine.evaluation import Example, ProgramUnderTest, evaluate
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.optimization import (
    Candidate,
    Concludes,
    Metric,
    Objective,
    Outcome,
    Strategy,
    StrategyKind,
)
from dspex_gql.ids import new_id
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.models import Evaluation, OptimizationStatus
from dspex_gql.optimization_runs.repository import OptimizationRunRepository
from dspex_gql.optimization_runs.state import RunState, objective_values
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.runs import Phase, RunJob, RunKind, Runs, StateChange

T = TypeVar("T")
LANE = "optimization"
"""The orchestrator lane of optimization loops (`DSPEX_OPTIMIZATION_MAX_RUNNING` at once)."""


async def release_program(session: AsyncSession, run: Any) -> None:
    """The program optimized is READY again."""
    await ProgramRepository(session, run.organization_id).finish_optimization(run.program_id)


OPTIMIZATIONS = RunKind(
    name="optimization",
    repository=OptimizationRunRepository,
    statuses={
        Phase.RUNNING: OptimizationStatus.RUNNING,
        Phase.SUSPENDED: OptimizationStatus.RUNNING,
        Phase.COMPLETED: OptimizationStatus.COMPLETED,
        Phase.FAILED: OptimizationStatus.FAILED,
        Phase.CANCELLED: OptimizationStatus.CANCELLED,
    },
    event=OptimizationChanged,
    ended=release_program,
)


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
    strategy: Strategy | None
    """The search strategy; None for DSPy's own optimizers, which compile instead
    (`compiling.py`)."""
    limits: Limits
    patience: int | None
    concurrency: int
    sequence: int
    started_at: datetime | None
    history: list[Evaluation] = field(default_factory=list)
    offload: bool = False
    """Ask and tell in a worker thread: Optuna's samplers take milliseconds of CPU per call,
    which would otherwise hold up every request this process serves."""
    strategy_kind: StrategyKind = StrategyKind.RANDOM
    strategy_options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    @property
    def search(self) -> Strategy:
        assert self.strategy is not None, "a search strategy runs in OptimizationJob"
        return self.strategy


class OptimizationJob(RunJob):
    kind = OPTIMIZATIONS.name
    lane = LANE
    resumable = True
    event_type = OptimizationChanged

    def __init__(self, runs: Runs, invoker: ProgramInvoker, plan: OptimizationPlan) -> None:
        super().__init__(runs, plan.id, plan.sequence, plan.started_at)
        self.invoker = invoker
        self.plan = plan
        self.state = RunState.start(plan.objectives, plan.patience)
        for evaluation in plan.history:
            self.state.add(evaluation)
        self.unstored: list[Evaluation] = []
        """Evaluations not stored yet: they go with the next state written."""
        self.uncounted_seconds = 0.0
        """Compute not counted against the organization's quota yet: likewise."""
        self.quota_used_up = False
        self._being_stored = (0, 0.0)
        """Evaluations and seconds the state being written carries (one write at a time)."""

    async def perform(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._seconds_left()):
                reason = await self._loop()
        except TimeoutError:
            reason = "timeout"
        return {"results": self._results(reason)}

    def columns(self) -> dict[str, Any]:
        return self.state.snapshot()

    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        """The state, with the evaluations and compute since the last one stored."""
        return await self._store(session, change, evaluations=True)

    async def store_failure(self, session: AsyncSession, change: StateChange) -> Any | None:
        """The state without the evaluations (what the database refused)."""
        return await self._store(session, change, evaluations=False)

    async def _store(
        self, session: AsyncSession, change: StateChange, evaluations: bool
    ) -> Any | None:
        """A terminal state releases the program."""
        plan = self.plan
        recorded = await OPTIMIZATIONS.record(
            session, plan, change.sequence, change.phase, change.values, plan.process_id
        )
        if recorded is None:
            return None
        if recorded.now:
            if evaluations:
                await self._store_evaluations(session)
            if change.phase.is_terminal:
                await OPTIMIZATIONS.ended(session, plan)
        return recorded.row

    def stored(self, change: StateChange) -> None:
        evaluations, seconds = self._being_stored
        del self.unstored[:evaluations]
        self.uncounted_seconds -= seconds
        self._being_stored = (0, 0.0)

    async def _store_evaluations(self, session: AsyncSession) -> None:
        batch = list(self.unstored)
        session.add_all(batch)
        await session.flush()
        self._being_stored = (len(batch), self.uncounted_seconds)
        if self.uncounted_seconds > 0:
            organizations = OrganizationRepository(session)
            left = await organizations.add_compute(
                self.plan.organization_id, self.uncounted_seconds
            )
            self.quota_used_up = not left

    async def _loop(self) -> str:
        plan = self.plan
        while True:
            if reason := self._stop_rule():
                return reason
            candidate = await self._next_candidate()
            if candidate is None:
                return "grid_exhausted"
            evaluation, outcome = await self._evaluate(candidate)
            await self._call(plan.search.tell, candidate, outcome)
            self.state.add(evaluation)
            self.unstored.append(evaluation)
            self.report()

    async def _next_candidate(self) -> Candidate | None:
        strategy, limits = self.plan.search, self.plan.limits
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
            self.invoker,
            plan.program,
            candidate.configuration,
            examples,
            plan.metric,
            plan.concurrency,
        )
        self.uncounted_seconds += time.perf_counter() - started
        scores = tuple(example.score for example in result.examples)
        evaluation = Evaluation(
            id=new_id(),
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

    def _results(self, reason: str) -> dict[str, Any]:
        state = self.state
        return {
            "stopReason": reason,
            "evaluations": state.iterations,
            "failedEvaluations": state.failures,
            "totalCost": state.total_cost,
            "bestIteration": None if state.best is None else state.best.iteration,
        }


def _metrics(examples: Any, errors: list[str]) -> dict[str, Any]:
    answered = [example for example in examples if example.error is None]
    return {
        "examples": len(examples),
        "failures": len(examples) - len(answered),
        "errors": errors,
    }

"""Runs nobody runs any more (their process died or stopped) continue from their evaluations."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.optimization_runs.models import OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import load_plan
from dspex_gql.optimization_runs.repository import EvaluationRepository, claim_abandoned
from dspex_gql.optimization_runs.runner import OptimizationPlan, OptimizationRunner
from dspex_gql.orchestrator import Orchestrator
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.programs.repository import ProgramRepository

logger = logging.getLogger(__name__)


class ResumedOptimizations:
    def __init__(
        self, metrics: MetricRegistry, runner: OptimizationRunner, orchestrator: Orchestrator
    ) -> None:
        self._metrics = metrics
        self._runner = runner
        self._orchestrator = orchestrator

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        """Claim the abandoned runs, rebuild each from its stored evaluations, and run it again
        once the claim is committed; a run that cannot be rebuilt fails, saying why."""
        runs = await claim_abandoned(tx.session, abandoned, abandoned.taker)
        plans: list[OptimizationPlan] = []
        for run in runs:
            history = await EvaluationRepository(tx.session, run.organization_id).of_runs([run.id])
            try:
                plans.append(await load_plan(tx.session, self._metrics, run, history))
            except Exception as error:
                logger.warning("optimization %s cannot resume", run.id, exc_info=True)
                await _fail(tx.session, run, f"Could not resume: {error}")
        tx.after_commit(lambda: self._resume(plans))
        return len(runs)

    def _resume(self, plans: list[OptimizationPlan]) -> None:
        for plan in plans:
            self._orchestrator.submit(self._runner.job(plan))


async def _fail(session: AsyncSession, run: OptimizationRun, error: str) -> None:
    run.status, run.error, run.completed_at = OptimizationStatus.FAILED, error, utcnow()
    run.sequence += 1
    await ProgramRepository(session, run.organization_id).finish_optimization(run.program_id)

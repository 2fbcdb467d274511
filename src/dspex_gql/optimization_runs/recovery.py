"""Runs nobody runs any more (their process died or stopped) continue from their evaluations."""

from __future__ import annotations

import logging

from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import claim_abandoned_runs
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.optimization_runs.compiling import job_for
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.job import OPTIMIZATIONS, OptimizationPlan
from dspex_gql.optimization_runs.models import OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import load_plan
from dspex_gql.optimization_runs.repository import UNFINISHED, EvaluationRepository
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.runs import Runs
from dspex_gql.secrets_box import SecretBox

logger = logging.getLogger(__name__)


class ResumedOptimizations:
    def __init__(
        self, runs: Runs, invoker: ProgramInvoker, metrics: MetricRegistry, secrets: SecretBox
    ) -> None:
        self._runs = runs
        self._invoker = invoker
        self._metrics = metrics
        self._secrets = secrets

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        """Claim the abandoned runs, rebuild each from its stored evaluations, and run it again
        once the claim is committed; a run that cannot be rebuilt fails, saying why."""
        runs = await claim_abandoned_runs(
            tx.session, OptimizationRun, UNFINISHED, abandoned, abandoned.taker
        )
        plans: list[OptimizationPlan] = []
        failed: list[OptimizationChanged] = []
        for run in runs:
            history = await EvaluationRepository(tx.session, run.organization_id).of_runs([run.id])
            try:
                plan = await load_plan(tx.session, self._metrics, self._secrets, run, history)
                plans.append(plan)
            except Exception as error:
                logger.warning("optimization %s cannot resume", run.id, exc_info=True)
                await _fail(tx, run, f"Could not resume: {error}")
                failed.append(OptimizationChanged.of(run))
        for plan in plans:
            self._runs.launch(tx, job_for(self._runs, self._invoker, plan))
        self._runs.announce_after(tx, failed)
        return len(runs)


async def _fail(tx: UnitOfWork, run: OptimizationRun, error: str) -> None:
    run.status, run.error, run.completed_at = OptimizationStatus.FAILED, error, utcnow()
    run.sequence += 1
    await OPTIMIZATIONS.ended(tx.session, run)

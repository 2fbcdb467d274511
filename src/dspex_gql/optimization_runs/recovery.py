"""Runs nobody runs any more (their process died or stopped) continue from their evaluations."""

from __future__ import annotations

import logging

from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.optimization_runs.compiling import job_for
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.optimization_runs.job import OPTIMIZATIONS
from dspex_gql.optimization_runs.models import OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import load_plan
from dspex_gql.optimization_runs.repository import UNFINISHED, EvaluationRepository
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.runs import RunJob, Runs
from dspex_gql.runs.loading import resume_abandoned
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

    kind = OPTIMIZATIONS
    unfinished = UNFINISHED

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        return await resume_abandoned(tx, abandoned, self, self._runs)

    async def load(self, tx: UnitOfWork, run: OptimizationRun) -> RunJob | None:
        """The run rebuilt from its stored evaluations; a run that cannot be rebuilt fails,
        saying why."""
        history = await EvaluationRepository(tx.session, run.organization_id).of_runs([run.id])
        try:
            plan = await load_plan(tx.session, self._metrics, self._secrets, run, history)
        except Exception as error:
            logger.warning("optimization %s cannot resume", run.id, exc_info=True)
            await _fail(tx, run, f"Could not resume: {error}")
            self._runs.announce_after(tx, [OptimizationChanged.of(run)])
            return None
        return job_for(self._runs, self._invoker, plan)


async def _fail(tx: UnitOfWork, run: OptimizationRun, error: str) -> None:
    run.status, run.error, run.completed_at = OptimizationStatus.FAILED, error, utcnow()
    run.sequence += 1
    await OPTIMIZATIONS.ended(tx.session, run)

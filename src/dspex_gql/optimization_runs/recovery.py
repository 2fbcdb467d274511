"""At start-up: runs a stopped process left PENDING or RUNNING continue from their evaluations."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.optimization_runs.models import OptimizationRun, OptimizationStatus
from dspex_gql.optimization_runs.planning import load_plan
from dspex_gql.optimization_runs.repository import EvaluationRepository, unfinished_runs
from dspex_gql.optimization_runs.runner import OptimizationPlan, OptimizationRunner
from dspex_gql.orchestrator import Orchestrator
from dspex_gql.programs.repository import ProgramRepository

logger = logging.getLogger(__name__)


async def resume_unfinished(
    uow: UnitOfWorkFactory,
    metrics: MetricRegistry,
    runner: OptimizationRunner,
    orchestrator: Orchestrator,
) -> int:
    plans: list[OptimizationPlan] = []
    async with uow() as tx:
        for run in await unfinished_runs(tx.session):
            history = await EvaluationRepository(tx.session, run.organization_id).of_runs([run.id])
            try:
                plans.append(await load_plan(tx.session, metrics, run, history))
            except Exception as error:
                logger.warning("optimization %s cannot resume", run.id, exc_info=True)
                await _fail(tx.session, run, f"Could not resume after a restart: {error}")
    for plan in plans:
        orchestrator.submit(runner.job(plan))
    return len(plans)


async def _fail(session: AsyncSession, run: OptimizationRun, error: str) -> None:
    run.status, run.error, run.completed_at = OptimizationStatus.FAILED, error, utcnow()
    run.sequence += 1
    await ProgramRepository(session, run.organization_id).finish_optimization(run.program_id)

"""DAG runs nobody runs any more (their process died or stopped) continue from their stored node
states: nodes that succeeded or failed stay as they are, the others run (again)."""

from __future__ import annotations

import logging

from dspex_gql.config import DagSettings
from dspex_gql.dags.events import DagRunChanged
from dspex_gql.dags.job import DAG_RUNS, DagRunJob
from dspex_gql.dags.models import UNFINISHED, DagRun, RunStatus
from dspex_gql.dags.plans import load_plan
from dspex_gql.dags.runs_repository import close_unfinished_nodes
from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.runs import RunJob, Runs
from dspex_gql.runs.loading import resume_abandoned
from dspex_gql.secrets_box import SecretBox

logger = logging.getLogger(__name__)


class ResumedDagRuns:
    def __init__(
        self, runs: Runs, invoker: ProgramInvoker, settings: DagSettings, secrets: SecretBox
    ) -> None:
        self._runs = runs
        self._invoker = invoker
        self._settings = settings
        self._secrets = secrets

    kind = DAG_RUNS
    unfinished = tuple(UNFINISHED)

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        return await resume_abandoned(tx, abandoned, self, self._runs)

    async def load(self, tx: UnitOfWork, run: DagRun) -> RunJob | None:
        """The run rebuilt from its stored nodes; a run that cannot be rebuilt fails, saying why."""
        try:
            plan = await load_plan(tx.session, self._secrets, run)
        except Exception as error:
            logger.warning("DAG run %s cannot resume", run.id, exc_info=True)
            await _fail(tx, run, f"Could not resume: {error}")
            self._runs.announce_after(tx, [DagRunChanged.of(run)])
            return None
        return DagRunJob(self._runs, self._invoker, plan, self._settings)


async def _fail(tx: UnitOfWork, run: DagRun, error: str) -> None:
    run.status, run.error, run.completed_at = RunStatus.FAILED, error, utcnow()
    run.sequence += 1
    await close_unfinished_nodes(tx.session, run, error)

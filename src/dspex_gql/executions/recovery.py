"""An execution handed to a process by its id alone (a worker of the job queue): a PENDING one
runs; one that was already RUNNING ends FAILED as interrupted — its worker died in the middle of
an adapter call, which cannot be resumed halfway and is not repeated (it may have cost money)."""

from __future__ import annotations

import logging

from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.job import EXECUTIONS, INTERRUPTED, ExecutionJob
from dspex_gql.executions.models import Execution, ExecutionStatus
from dspex_gql.executions.plans import load_plan
from dspex_gql.executions.repository import UNFINISHED
from dspex_gql.runs import RunJob, Runs
from dspex_gql.secrets_box import SecretBox

logger = logging.getLogger(__name__)


class QueuedExecutions:
    kind = EXECUTIONS
    unfinished = UNFINISHED

    def __init__(self, runs: Runs, invoker: ProgramInvoker, secrets: SecretBox) -> None:
        self._runs = runs
        self._invoker = invoker
        self._secrets = secrets

    async def load(self, tx: UnitOfWork, execution: Execution) -> RunJob | None:
        if execution.status is not ExecutionStatus.PENDING:
            self._fail(tx, execution, INTERRUPTED)
            return None
        assert execution.process_id is not None, "claimed"
        try:
            plan = await load_plan(tx.session, self._secrets, execution, execution.process_id)
        except Exception as error:
            logger.warning("execution %s cannot start", execution.id, exc_info=True)
            self._fail(tx, execution, f"Could not start: {error}")
            return None
        return ExecutionJob(self._runs, self._invoker, plan, execution.sequence)

    def _fail(self, tx: UnitOfWork, execution: Execution, error: str) -> None:
        execution.status, execution.error = ExecutionStatus.FAILED, error
        execution.completed_at = utcnow()
        execution.sequence += 1
        self._runs.announce_after(tx, [ExecutionChanged.of(execution)])

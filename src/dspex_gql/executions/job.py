"""One execution: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED, as every run lives
(`runs/lifecycle.py`). The job carries everything it needs (a snapshot of the program, its
signature and the inputs), so it reads nothing from the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.adapters.base import AdapterError, AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.registry import NotRegistered
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.executions.repository import ExecutionRepository, fail_abandoned
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.runs import Phase, RunFailed, RunJob, RunKind, Runs, StateChange

logger = logging.getLogger(__name__)

INTERRUPTED = "Interrupted: the service stopped before this execution finished"
EXECUTIONS = RunKind(
    name="execution",
    repository=ExecutionRepository,
    statuses={
        Phase.RUNNING: ExecutionStatus.RUNNING,
        Phase.COMPLETED: ExecutionStatus.COMPLETED,
        Phase.FAILED: ExecutionStatus.FAILED,
        Phase.CANCELLED: ExecutionStatus.CANCELLED,
    },
    event=ExecutionChanged,
)


@dataclass(frozen=True)
class ExecutionPlan:
    """What to run: everything the job needs, captured when the execution is created."""

    id: UUID
    organization_id: UUID
    program_id: UUID
    process_id: UUID
    """The process that runs it (its lease): a run taken over by another is not written to."""
    adapter: str
    implementation: str | None
    request: AdapterRequest


class ExecutionJob(RunJob):
    kind = EXECUTIONS.name
    event_type = ExecutionChanged

    def __init__(
        self, runs: Runs, invoker: ProgramInvoker, plan: ExecutionPlan, sequence: int = 1
    ) -> None:
        super().__init__(runs, plan.id, sequence)
        self.invoker = invoker
        self.plan = plan

    async def perform(self) -> dict[str, Any]:
        plan = self.plan
        try:
            result = await self.invoker(plan.adapter, plan.implementation, plan.request)
        except (AdapterError, NotRegistered) as error:
            raise RunFailed(str(error)) from error
        return _result_values(result)

    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        """The state, and on a terminal one its duration, counted against the compute quota."""
        plan, values = self.plan, dict(change.values)
        if change.phase.is_terminal:
            values["duration_ms"] = change.elapsed_ms
        recorded = await EXECUTIONS.record(
            session, plan, change.sequence, change.phase, values, plan.process_id
        )
        if recorded is None:
            return None
        if recorded.now and change.phase.is_terminal and change.elapsed_ms:
            await OrganizationRepository(session).add_compute(
                plan.organization_id, change.elapsed_ms / 1000
            )
        return recorded.row


def _result_values(result: AdapterResult) -> dict[str, Any]:
    return {
        "outputs": result.outputs,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost": result.cost,
        "trace": result.trace,
        "meta": result.metadata,
    }


class InterruptedExecutions:
    """Executions nobody runs any more (their process died or stopped) become FAILED: their
    inputs are kept, but an adapter call cannot be resumed halfway."""

    def __init__(self, runs: Runs) -> None:
        self._runs = runs

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        rows = await fail_abandoned(tx.session, abandoned, INTERRUPTED)
        self._runs.announce_after(tx, [ExecutionChanged.of(row) for row in rows])
        return len(rows)

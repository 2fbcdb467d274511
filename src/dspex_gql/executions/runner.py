"""Runs one execution: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED.

The job carries everything it needs (a snapshot of the program, its signature and the inputs), so
it reads nothing from the database; it writes RUNNING behind and the terminal state at once, and
publishes each state after it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import Recorded
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.adapters.base import AdapterError, AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.registry import AdapterRegistry, NotRegistered
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.models import Execution, ExecutionStatus
from dspex_gql.executions.repository import ExecutionRepository, fail_abandoned
from dspex_gql.orchestrator import (
    SUPERSEDED,
    Progress,
    ProgressReporter,
    cancel_reason,
    uninterrupted,
)
from dspex_gql.orchestrator.lease import Abandoned, ProcessLease
from dspex_gql.pubsub import Hub, channels

logger = logging.getLogger(__name__)

INTERRUPTED = "Interrupted: the service stopped before this execution finished"


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


class ExecutionRunner:
    """Shared by every execution of the process: adapters, the reporter and the hub."""

    def __init__(
        self,
        reporter: ProgressReporter,
        hub: Hub,
        lease: ProcessLease,
        adapters: AdapterRegistry,
        custom_programs: CustomProgramRegistry,
    ) -> None:
        self.reporter = reporter
        self.hub = hub
        self.lease = lease
        self.invoker = ProgramInvoker(adapters, custom_programs)

    def job(self, plan: ExecutionPlan) -> ExecutionJob:
        return ExecutionJob(self, plan)

    async def announce(self, event: ExecutionChanged) -> None:
        await self.hub.publish(channels.execution(event.id), event)
        await self.hub.publish(channels.program_executions(event.program_id), event)

    async def invoke(self, plan: ExecutionPlan) -> AdapterResult:
        return await self.invoker(plan.adapter, plan.implementation, plan.request)


@dataclass
class ExecutionJob:
    runner: ExecutionRunner
    plan: ExecutionPlan
    sequence: int = 1
    started_at: datetime | None = None
    _clock: float = field(default=0.0, repr=False)
    _task: asyncio.Task[Any] | None = field(default=None, repr=False)

    @property
    def key(self) -> UUID:
        return self.plan.id

    async def run(self) -> None:
        self._task = asyncio.current_task()
        self.started_at, self._clock = utcnow(), time.perf_counter()
        self.runner.reporter.report(
            self._progress(ExecutionStatus.RUNNING, started_at=self.started_at)
        )
        try:
            result = await self.runner.invoke(self.plan)
        except asyncio.CancelledError as error:
            if cancel_reason(error) != SUPERSEDED:
                await self._finish(ExecutionStatus.CANCELLED, error=cancel_reason(error))
            raise
        except (AdapterError, NotRegistered) as error:
            await self._finish(ExecutionStatus.FAILED, error=str(error))
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            logger.exception("execution %s failed unexpectedly (error id %s)", self.key, error_id)
            await self._finish(
                ExecutionStatus.FAILED, error=f"Internal error (error id {error_id})"
            )
        else:
            await self._finish(ExecutionStatus.COMPLETED, **_result_values(result))

    async def abandon(self, reason: str) -> None:
        await self._finish(ExecutionStatus.CANCELLED, error=reason)

    async def _finish(self, status: ExecutionStatus, **values: Any) -> None:
        values.setdefault("duration_ms", self._elapsed_ms())
        progress = self._progress(
            status, completed_at=utcnow(), started_at=self.started_at, **values
        )
        await uninterrupted(self.runner.reporter.finish(progress))

    def _elapsed_ms(self) -> int | None:
        return (
            None if self.started_at is None else round((time.perf_counter() - self._clock) * 1000)
        )

    def _progress(self, status: ExecutionStatus, **values: Any) -> Progress:
        self.sequence += 1
        sequence, plan = self.sequence, self.plan
        event = ExecutionChanged(
            id=plan.id,
            program_id=plan.program_id,
            sequence=sequence,
            status=status,
            started_at=values.get("started_at"),
            completed_at=values.get("completed_at"),
        )

        compute = values.get("duration_ms") if status.is_terminal and self.started_at else None

        async def write(session: AsyncSession) -> bool:
            repo = ExecutionRepository(session, plan.organization_id)
            values_now = {"status": status, **values}
            recorded = await repo.record(plan.id, sequence, values_now, plan.process_id)
            if recorded is Recorded.APPLIED and compute:
                await OrganizationRepository(session).add_compute(
                    plan.organization_id, compute / 1000
                )
            return recorded is not Recorded.SUPERSEDED

        return Progress(
            key=plan.id,
            write=write,
            announce=lambda: self.runner.announce(event),
            superseded=self._stop,
        )

    def _stop(self) -> None:
        """The run moved on without this job (cancelled elsewhere, or taken over): stop quietly."""
        if self._task is not None:
            self._task.cancel(SUPERSEDED)


def _result_values(result: AdapterResult) -> dict[str, Any]:
    return {
        "outputs": result.outputs,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost": result.cost,
        "trace": result.trace,
        "meta": result.metadata,
    }


def state_event(execution: Execution) -> ExecutionChanged:
    return ExecutionChanged(
        id=execution.id,
        program_id=execution.program_id,
        sequence=execution.sequence,
        status=execution.status,
    )


class InterruptedExecutions:
    """Executions nobody runs any more (their process died or stopped) become FAILED: their
    inputs are kept, but an adapter call cannot be resumed halfway."""

    def __init__(self, runner: ExecutionRunner) -> None:
        self._runner = runner

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        rows = await fail_abandoned(tx.session, abandoned, INTERRUPTED)
        events = [state_event(row) for row in rows]
        tx.after_commit(lambda: self._announce(events))
        return len(rows)

    async def _announce(self, events: list[ExecutionChanged]) -> None:
        for event in events:
            try:
                await self._runner.announce(event)
            except Exception:
                logger.warning(
                    "could not publish recovery of execution %s", event.id, exc_info=True
                )

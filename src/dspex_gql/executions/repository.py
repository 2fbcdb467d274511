from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql import policies
from dspex_gql.db.base import utcnow
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import RunRepository
from dspex_gql.executions.models import (
    TERMINAL,
    Execution,
    ExecutionStatus,
    ProgramExecutionStats,
)
from dspex_gql.programs.models import Program

UNFINISHED = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)


@dataclass(frozen=True)
class ExecutionStats:
    execution_count: int = 0
    completed_count: int = 0
    failed_count: int = 0
    average_duration_ms: float | None = None
    total_cost: float = 0.0
    total_tokens: int = 0
    last_executed_at: datetime | None = None

    @property
    def success_rate(self) -> float:
        finished = self.completed_count + self.failed_count
        return self.completed_count / finished if finished else 0.0


class ExecutionRepository(RunRepository[Execution]):
    model = Execution
    terminal = TERMINAL
    resource = "Execution"
    listing = Listing(
        fields={
            "status": Execution.status,
            "program_id": Execution.program_id,
            "node_execution_id": Execution.node_execution_id,
            "created_at": Execution.created_at,
            "completed_at": Execution.completed_at,
            "duration_ms": Execution.duration_ms,
        },
        id=Execution.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    def _visible(self) -> ColumnElement[bool] | None:
        return policies.readable_through(self.reader, Execution.program_id, Program)

    async def unfinished_of(self, program_id: UUID, limit: int = 1_000) -> dict[UUID, Execution]:
        query = (
            self._select()
            .where(Execution.program_id == program_id, Execution.status.in_(UNFINISHED))
            .order_by(Execution.created_at)
            .limit(limit)
        )
        return {row.id: row for row in await self.session.scalars(query)}

    async def stats(self, program_ids: Iterable[UUID]) -> dict[UUID, ExecutionStats]:
        """The running totals the database keeps per program (one row each, however long the
        history; see `ProgramExecutionStats`); a program never executed has none."""
        query = select(ProgramExecutionStats).where(
            ProgramExecutionStats.organization_id == self.organization_id,
            ProgramExecutionStats.program_id.in_(set(program_ids)),
        )
        return {row.program_id: _stats(row) for row in await self.session.scalars(query)}


def _stats(row: ProgramExecutionStats) -> ExecutionStats:
    timed = row.timed_completed_count
    return ExecutionStats(
        execution_count=row.execution_count,
        completed_count=row.completed_count,
        failed_count=row.failed_count,
        average_duration_ms=row.completed_duration_ms / timed if timed else None,
        total_cost=row.total_cost,
        total_tokens=row.total_tokens,
        last_executed_at=row.last_executed_at if row.execution_count else None,
    )


async def fail_abandoned(
    session: AsyncSession, abandoned: Callable[[Any], ColumnElement[bool]], error: str
) -> list[Execution]:
    """Executions no live process runs become FAILED with `error`, in one statement (two
    processes sweeping at once never both take one)."""
    now = utcnow()
    statement = (
        update(Execution)
        .where(Execution.status.in_(UNFINISHED), abandoned(Execution.process_id))
        .values(
            status=ExecutionStatus.FAILED,
            error=error,
            completed_at=now,
            updated_at=now,
            sequence=Execution.sequence + 1,
        )
        .returning(Execution)
    )
    return list(await session.scalars(statement))

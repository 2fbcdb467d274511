"""DAG runs and their node executions: visible to whoever sees the DAG."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql import policies
from dspex_gql.dags.models import TERMINAL, Dag, DagRun, NodeExecution, RunStatus
from dspex_gql.db.base import utcnow
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import RunRepository, TenantRepository
from dspex_gql.db.sql import entity_rows, only_columns
from dspex_gql.executions.models import Execution, ExecutionStatus


class DagRunRepository(RunRepository[DagRun]):
    model = DagRun
    terminal = TERMINAL
    resource = "DagRun"
    listing = Listing(
        fields={
            "dag_id": DagRun.dag_id,
            "status": DagRun.status,
            "dag_version": DagRun.dag_version,
            "retry_of_id": DagRun.retry_of_id,
            "created_at": DagRun.created_at,
            "completed_at": DagRun.completed_at,
            "duration_ms": DagRun.duration_ms,
        },
        id=DagRun.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    def _visible(self) -> ColumnElement[bool] | None:
        return policies.readable_through(self.reader, DagRun.dag_id, Dag)


class NodeExecutionRepository(TenantRepository[NodeExecution]):
    model = NodeExecution
    resource = "NodeExecution"
    listing = Listing(
        fields={"dag_run_id": NodeExecution.dag_run_id, "position": NodeExecution.position},
        id=NodeExecution.id,
        default_order=(SortKey("position"),),
    )

    def _visible(self) -> ColumnElement[bool] | None:
        runs = policies.readable_through(self.reader, DagRun.dag_id, Dag)
        if runs is None:
            return None
        visible: ColumnElement[bool] = NodeExecution.dag_run_id.in_(
            select(DagRun.id).where(runs).scalar_subquery()
        )
        return visible

    async def of_runs(
        self, run_ids: Iterable[UUID], after_sequence: int = 0
    ) -> dict[UUID, list[NodeExecution]]:
        """Each run's nodes in definition order; only those changed after `after_sequence`."""
        query = _of_runs(self._select(), run_ids).where(NodeExecution.sequence > after_sequence)
        return _by_run(await self.session.scalars(query))

    async def rows_of_runs(
        self, run_ids: Iterable[UUID], columns: Iterable[str]
    ) -> dict[UUID, list[Any]]:
        """Each run's nodes in definition order, as objects of every column, None but for
        `columns` (and `dag_run_id`): the columns a client asked for (`graphql/selections.py`)."""
        query = _of_runs(only_columns(self._select(), {*columns, "dag_run_id"}), run_ids)
        return _by_run(entity_rows(await self.session.execute(query)))

    async def of_run(self, run_id: UUID, after_sequence: int = 0) -> list[NodeExecution]:
        return (await self.of_runs([run_id], after_sequence)).get(run_id, [])


def _of_runs(query: Select[Any], run_ids: Iterable[UUID]) -> Select[Any]:
    return query.where(NodeExecution.dag_run_id.in_(set(run_ids))).order_by(
        NodeExecution.dag_run_id, NodeExecution.position
    )


def _by_run(nodes: Iterable[Any]) -> dict[UUID, list[Any]]:
    found: dict[UUID, list[Any]] = {}
    for node in nodes:
        found.setdefault(node.dag_run_id, []).append(node)
    return found


async def close_unfinished_nodes(
    session: AsyncSession, run: Any, reason: str = "The DAG run was cancelled"
) -> None:
    """A run ended without its job (cancelled in place, or unable to resume): its running nodes
    are CANCELLED, with the executions they were waiting for, and those not started SKIPPED,
    with `reason`."""
    now = utcnow()
    endings = ((RunStatus.RUNNING, RunStatus.CANCELLED), (RunStatus.PENDING, RunStatus.SKIPPED))
    for before, after in endings:
        await session.execute(
            update(NodeExecution)
            .where(NodeExecution.dag_run_id == run.id, NodeExecution.status == before)
            .values(status=after, sequence=run.sequence + 1, error=reason, completed_at=now)
        )
    nodes = select(NodeExecution.id).where(NodeExecution.dag_run_id == run.id)
    await session.execute(
        update(Execution)
        .where(Execution.node_execution_id.in_(nodes.scalar_subquery()))
        .where(Execution.status.in_((ExecutionStatus.PENDING, ExecutionStatus.RUNNING)))
        .values(
            status=ExecutionStatus.CANCELLED,
            error=reason,
            completed_at=now,
            sequence=Execution.sequence + 1,
        )
    )

"""DAG runs and their node executions over GraphQL: types, filters and orders."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.dags import models
from dspex_gql.dags.models import RunStatus
from dspex_gql.db.listing import Condition
from dspex_gql.executions.schema import Execution, ExecutionOrder
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.filters import (
    DateTimeFilter,
    EnumFilter,
    IDFilter,
    IntFilter,
    Order,
    filter_field,
)
from dspex_gql.graphql.lookups import Lookup
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.selections import ColumnsOf, selected_columns

if TYPE_CHECKING:
    from dspex_gql.dags.schema.types import Dag

strawberry.enum(RunStatus, description="Of a DAG run and of its nodes (SKIPPED: nodes only).")


def _dag(row: models.Dag) -> Dag:
    from dspex_gql.dags.schema.types import Dag

    return Dag.of(row)


EXECUTION = Lookup("execution", "execution_id", Execution.of)
DAG = Lookup("dag", "dag_id", _dag)
RETRY_OF = Lookup("dag_run", "retry_of_id", lambda row: DagRun.of(row))


@strawberry.type
class NodeExecution:
    id: strawberry.ID
    node_name: str
    status: RunStatus
    attempts: int = strawberry.field(description="Calls started for it (the first, then retries).")
    retry_count: int
    inputs: JSON | None = strawberry.field(description="What its inputs mapping resolved to.")
    result: JSON | None = strawberry.field(description="Its outputs (lists when fanned out).")
    error: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    cost: float
    prompt_tokens: int
    completion_tokens: int
    reused_from_id: strawberry.ID | None = strawberry.field(
        description="The node execution of an earlier run whose result this retried run reused."
    )
    execution_id: strawberry.Private[UUID | None]

    @strawberry.field(
        description="The execution of its latest attempt (null when fanned out).",
        metadata=EXECUTION.metadata,
    )
    async def execution(self, info: Info) -> Execution | None:
        found: Execution | None = await EXECUTION.resolve(self, info)
        return found

    @strawberry.field(description="Every execution it started: attempts and fanned-out items.")
    async def executions(
        self,
        info: Info,
        order_by: list[ExecutionOrder] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Execution]:
        within = Condition("node_execution_id", "eq", UUID(self.id))
        request = list_request(info, None, order_by, first, after, within=within)
        return await connection(info.context.services.executions, request, Execution.of)

    @classmethod
    def of(cls, node: models.NodeExecution) -> NodeExecution:
        return cls(
            id=strawberry.ID(str(node.id)),
            node_name=node.node_name,
            status=node.status,
            attempts=node.attempts,
            retry_count=max((node.attempts or 0) - 1, 0),
            inputs=JSON(node.inputs),
            result=JSON(node.result),
            error=node.error,
            started_at=node.started_at,
            completed_at=node.completed_at,
            duration_ms=node.duration_ms,
            cost=node.cost,
            prompt_tokens=node.prompt_tokens,
            completion_tokens=node.completion_tokens,
            reused_from_id=_id(node.reused_from_id),
            execution_id=node.execution_id,
        )


NODE_EXECUTION_COLUMNS: ColumnsOf = {
    "id": ("id",),
    "nodeName": ("node_name",),
    "status": ("status",),
    "attempts": ("attempts",),
    "retryCount": ("attempts",),
    "inputs": ("inputs",),
    "result": ("result",),
    "error": ("error",),
    "startedAt": ("started_at",),
    "completedAt": ("completed_at",),
    "durationMs": ("duration_ms",),
    "cost": ("cost",),
    "promptTokens": ("prompt_tokens",),
    "completionTokens": ("completion_tokens",),
    "reusedFromId": ("reused_from_id",),
    "execution": ("execution_id",),
    "executions": ("id",),
}
"""What each field of a NodeExecution is made from: `dagRun { nodeExecutions }` reads only the
columns of the fields selected (a test checks that every field is here)."""


def _id(value: UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class DagRun:
    id: strawberry.ID
    dag_version: int
    status: RunStatus
    sequence: int = strawberry.field(description="Grows with every state change.")
    context: JSON
    result: JSON | None = strawberry.field(description="The sink nodes' outputs, by node.")
    error: str | None
    retry_count: int = strawberry.field(description="Runs before this one in its retries.")
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    total_nodes: int
    finished_nodes: int
    succeeded_nodes: int
    failed_nodes: int
    cost: float = strawberry.field(description="Of the calls this run made (not reused ones).")
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime
    dag_id: strawberry.Private[UUID]
    retry_of_id: strawberry.Private[UUID | None]
    created_by: strawberry.Private[UUID | None]
    node_duration_ms: strawberry.Private[int]
    ran_nodes: strawberry.Private[int]

    @strawberry.field(description="Succeeded of finished nodes; null before any finished.")
    def success_rate(self) -> float | None:
        return self.succeeded_nodes / self.finished_nodes if self.finished_nodes else None

    @strawberry.field(description="Of the nodes that ran (skipped and reused ones aside).")
    def average_node_duration_ms(self) -> float | None:
        return self.node_duration_ms / self.ran_nodes if self.ran_nodes else None

    @strawberry.field(description="In definition order.")
    async def node_executions(self, info: Info) -> list[NodeExecution]:
        columns = selected_columns(info, NODE_EXECUTION_COLUMNS)
        nodes = await info.context.loaders.dag_run_nodes.load((UUID(self.id), columns))
        return [NodeExecution.of(node) for node in nodes]

    @strawberry.field(metadata=DAG.metadata)
    async def dag(
        self, info: Info
    ) -> Annotated[Dag, strawberry.lazy("dspex_gql.dags.schema.types")] | None:
        found: Dag | None = await DAG.resolve(self, info)
        return found

    @strawberry.field(description="The run this one retried.", metadata=RETRY_OF.metadata)
    async def retry_of(self, info: Info) -> DagRun | None:
        found: DagRun | None = await RETRY_OF.resolve(self, info)
        return found

    @strawberry.field(description="Who started the run.")
    async def triggered_by(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @classmethod
    def of(cls, run: models.DagRun) -> DagRun:
        return cls(
            id=strawberry.ID(str(run.id)),
            dag_version=run.dag_version,
            status=run.status,
            sequence=run.sequence,
            context=JSON(run.context),
            result=JSON(run.result),
            error=run.error,
            retry_count=run.retry_count,
            started_at=run.started_at,
            completed_at=run.completed_at,
            duration_ms=run.duration_ms,
            total_nodes=run.total_nodes,
            finished_nodes=run.finished_nodes,
            succeeded_nodes=run.succeeded_nodes,
            failed_nodes=run.failed_nodes,
            cost=run.cost,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            created_at=run.created_at,
            dag_id=run.dag_id,
            retry_of_id=run.retry_of_id,
            created_by=run.created_by,
            node_duration_ms=run.node_duration_ms,
            ran_nodes=run.ran_nodes,
        )


@strawberry.input(name="RunStatusFilter")
class RunStatusFilter(EnumFilter[RunStatus]):
    pass


@strawberry.input
class DagRunFilter:
    and_: list[DagRunFilter] | None = filter_field("and")
    or_: list[DagRunFilter] | None = filter_field("or")
    not_: DagRunFilter | None = filter_field("not")
    dag_id: IDFilter | None = filter_field()
    status: RunStatusFilter | None = filter_field()
    dag_version: IntFilter | None = filter_field()
    retry_of_id: IDFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    completed_at: DateTimeFilter | None = filter_field()
    duration_ms: IntFilter | None = filter_field()


@strawberry.enum
class DagRunOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    COMPLETED_AT = "COMPLETED_AT"
    DURATION_MS = "DURATION_MS"


@strawberry.input(name="DagRunOrder")
class DagRunOrder(Order[DagRunOrderField]):
    pass

"""executeDag, cancelDagRun, retryDagRun; dagRun, dagRuns; dagRunUpdated, nodeExecutionUpdated."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.dags.schema.runs import DagRun, DagRunFilter, DagRunOrder, NodeExecution
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.root_fields import field_by_id, list_field

ExecuteDagResult = Annotated[
    DagRun | ValidationError | NotFoundError | ConflictError | ForbiddenError | QuotaExceededError,
    strawberry.union("ExecuteDagResult"),
]
CancelDagRunResult = Annotated[
    DagRun | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CancelDagRunResult"),
]
RetryDagRunResult = Annotated[
    DagRun | ValidationError | NotFoundError | ConflictError | ForbiddenError | QuotaExceededError,
    strawberry.union("RetryDagRunResult"),
]


def run_uuid(id: strawberry.ID) -> UUID:
    return to_uuid(id, "DagRun")


@strawberry.type
class DagRunQuery:
    dag_run = field_by_id(DagRun, lambda services: services.dag_runs)
    dag_runs = list_field(DagRun, DagRunFilter, DagRunOrder, lambda services: services.dag_runs)


@strawberry.type
class DagRunMutation:
    @strawberry.mutation(
        description="Runs the DAG's current version (it must be ACTIVE) on `context`; returns a "
        "PENDING run at once."
    )
    async def execute_dag(
        self, info: Info, dag_id: strawberry.ID, context: JSON | None = None
    ) -> ExecuteDagResult:
        run = await info.context.services.dag_runs.execute(to_uuid(dag_id, "Dag"), context)
        return DagRun.of(run)

    @strawberry.mutation(
        description="Cancels the nodes running (and their executions) and skips the rest."
    )
    async def cancel_dag_run(self, info: Info, id: strawberry.ID) -> CancelDagRunResult:
        return DagRun.of(await info.context.services.dag_runs.cancel(run_uuid(id)))

    @strawberry.mutation(
        description="A new run of a failed or cancelled run's version and context, reusing the "
        "outputs of the nodes that succeeded; `retryOf` links it to the old one."
    )
    async def retry_dag_run(self, info: Info, id: strawberry.ID) -> RetryDagRunResult:
        return DagRun.of(await info.context.services.dag_runs.retry(run_uuid(id)))


@strawberry.type
class DagRunSubscription:
    @strawberry.subscription(
        description="Now, then as it changes (at most 10 messages a second); completes once it "
        "has ended."
    )
    async def dag_run_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[DagRun, None]:
        async for run in info.context.services.dag_runs.watch(run_uuid(id)):
            yield DagRun.of(run)

    @strawberry.subscription(
        description="Every node of the run now, then the nodes changed since the previous "
        "message, each in its latest state (at most 10 messages a second, whatever the node "
        "rate); completes once the run has ended."
    )
    async def node_execution_updated(
        self, info: Info, dag_run_id: strawberry.ID
    ) -> AsyncGenerator[list[NodeExecution], None]:
        async for nodes in info.context.services.dag_runs.watch_nodes(run_uuid(dag_run_id)):
            yield [NodeExecution.of(node) for node in nodes]

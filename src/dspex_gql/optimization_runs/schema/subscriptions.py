from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.optimization_runs.schema.evaluations import Evaluation
from dspex_gql.optimization_runs.schema.inputs import run_uuid
from dspex_gql.optimization_runs.schema.types import OptimizationRun, ParetoPoint


@strawberry.type
class OptimizationSubscription:
    @strawberry.subscription(
        description="Now, then as it progresses (at most 10 messages a second); completes "
        "once it has finished."
    )
    async def optimization_progress(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[OptimizationRun, None]:
        async for run in info.context.services.optimizations.watch(run_uuid(id)):
            yield OptimizationRun.of(run)

    @strawberry.subscription(description="The frontier now, then each time it changes.")
    async def pareto_frontier_updated(
        self, info: Info, optimization_run_id: strawberry.ID
    ) -> AsyncGenerator[list[ParetoPoint], None]:
        service = info.context.services.optimizations
        async for frontier in service.watch_frontier(run_uuid(optimization_run_id)):
            yield [ParetoPoint.of(point) for point in frontier]

    @strawberry.subscription(
        description="Every evaluation stored so far, then each batch stored since (at most 10 "
        "messages a second, as `optimizationProgress`); completes once the run has finished."
    )
    async def evaluations_added(
        self, info: Info, optimization_run_id: strawberry.ID
    ) -> AsyncGenerator[list[Evaluation], None]:
        service = info.context.services.optimizations
        async for batch in service.watch_evaluations(run_uuid(optimization_run_id)):
            yield [Evaluation.of(evaluation) for evaluation in batch]

from __future__ import annotations

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.optimization_runs.schema.inputs import (
    OptimizationRunFilter,
    OptimizationRunOrder,
    run_uuid,
)
from dspex_gql.optimization_runs.schema.types import OptimizationRun, VariableImportance


@strawberry.type
class OptimizationQuery:
    optimization_run = field_by_id(OptimizationRun, lambda services: services.optimizations)
    optimization_runs = list_field(
        OptimizationRun,
        OptimizationRunFilter,
        OptimizationRunOrder,
        lambda services: services.optimizations,
    )

    @strawberry.field(description="From the evaluations of the given runs (default: all runs).")
    async def variable_importance(
        self,
        info: Info,
        variable_space_id: strawberry.ID,
        optimization_run_ids: list[strawberry.ID] | None = None,
    ) -> list[VariableImportance]:
        run_ids = (
            None if optimization_run_ids is None else [run_uuid(i) for i in optimization_run_ids]
        )
        space_id = to_uuid(variable_space_id, "VariableSpace")
        found = await info.context.services.optimizations.importance(space_id, run_ids)
        return [VariableImportance.of(item) for item in found]

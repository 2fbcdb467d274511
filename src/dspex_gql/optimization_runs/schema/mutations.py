from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from dspex_gql.optimization_runs.schema.inputs import StartOptimizationInput, run_uuid
from dspex_gql.optimization_runs.schema.types import OptimizationRun
from dspex_gql.programs.schema import Program

StartOptimizationResult = Annotated[
    OptimizationRun
    | ValidationError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | QuotaExceededError,
    strawberry.union("StartOptimizationResult"),
]
CancelOptimizationResult = Annotated[
    OptimizationRun | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CancelOptimizationResult"),
]
ApplyBestConfigurationResult = Annotated[
    Program | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ApplyBestConfigurationResult"),
]


@strawberry.type
class OptimizationMutation:
    @strawberry.mutation(description="Returns a PENDING run at once; the program is OPTIMIZING.")
    async def start_optimization(
        self, info: Info, input: StartOptimizationInput
    ) -> StartOptimizationResult:
        run = await info.context.services.optimizations.start(input.to_start())
        return OptimizationRun.of(run)

    @strawberry.mutation
    async def cancel_optimization(self, info: Info, id: strawberry.ID) -> CancelOptimizationResult:
        return OptimizationRun.of(await info.context.services.optimizations.cancel(run_uuid(id)))

    @strawberry.mutation(
        description="A new version of the program (its child, version + 1) with the best "
        "configuration merged into its configuration, initialized."
    )
    async def apply_best_configuration(
        self, info: Info, optimization_run_id: strawberry.ID
    ) -> ApplyBestConfigurationResult:
        services = info.context.services
        program = await services.optimizations.apply_best(run_uuid(optimization_run_id))
        return Program.of(await services.programs.initialize(program.id))

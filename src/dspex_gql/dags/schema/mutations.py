from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.dags.schema.inputs import CreateDagInput, UpdateDagInput
from dspex_gql.dags.schema.types import Dag
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.ids import to_uuid

CreateDagResult = Annotated[
    Dag | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("CreateDagResult"),
]
UpdateDagResult = Annotated[
    Dag | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateDagResult"),
]
ActivateDagResult = Annotated[
    Dag | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ActivateDagResult"),
]
ArchiveDagResult = Annotated[
    Dag | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ArchiveDagResult"),
]
DeleteDagResult = Annotated[
    Dag | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeleteDagResult"),
]


@strawberry.type
class DagMutation:
    @strawberry.mutation(
        description="ValidationError lists every problem of the definition at once: duplicate "
        "nodes, unknown dependencies, cycles, programs the caller cannot see, mappings from "
        "nodes that are not upstream, types that do not fit."
    )
    async def create_dag(self, info: Info, input: CreateDagInput) -> CreateDagResult:
        return Dag.of(await info.context.services.dags.create(input.to_new()))

    @strawberry.mutation
    async def update_dag(
        self, info: Info, id: strawberry.ID, input: UpdateDagInput
    ) -> UpdateDagResult:
        service = info.context.services.dags
        return Dag.of(await service.update(to_uuid(id, "Dag"), input.to_changes()))

    @strawberry.mutation(description="DRAFT → ACTIVE.")
    async def activate_dag(self, info: Info, id: strawberry.ID) -> ActivateDagResult:
        return Dag.of(await info.context.services.dags.activate(to_uuid(id, "Dag")))

    @strawberry.mutation(description="DRAFT or ACTIVE → ARCHIVED: it can no longer change.")
    async def archive_dag(self, info: Info, id: strawberry.ID) -> ArchiveDagResult:
        return Dag.of(await info.context.services.dags.archive(to_uuid(id, "Dag")))

    @strawberry.mutation(
        description="Soft delete: no longer found or listed, its name free again. Refused "
        "while a run of it is PENDING or RUNNING."
    )
    async def delete_dag(self, info: Info, id: strawberry.ID) -> DeleteDagResult:
        return Dag.of(await info.context.services.dags.delete(to_uuid(id, "Dag")))

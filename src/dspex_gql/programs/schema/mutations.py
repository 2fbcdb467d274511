from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.programs.schema.inputs import (
    CreateProgramInput,
    ImportProgramInput,
    UpdateProgramInput,
)
from dspex_gql.programs.schema.types import Program, ProgramExport

CreateProgramResult = Annotated[
    Program | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CreateProgramResult"),
]
UpdateProgramResult = Annotated[
    Program | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateProgramResult"),
]
InitializeProgramResult = Annotated[
    Program | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("InitializeProgramResult"),
]
CloneProgramResult = Annotated[
    Program | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("CloneProgramResult"),
]
ArchiveProgramResult = Annotated[
    Program | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ArchiveProgramResult"),
]
ImportProgramResult = Annotated[
    Program | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ImportProgramResult"),
]
ExportProgramResult = Annotated[
    ProgramExport | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ExportProgramResult"),
]
UpdateProgramMetricsResult = Annotated[
    Program | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateProgramMetricsResult"),
]


@strawberry.type
class ProgramMutation:
    @strawberry.mutation
    async def create_program(self, info: Info, input: CreateProgramInput) -> CreateProgramResult:
        return Program.of(await info.context.services.programs.create(input.to_new()))

    @strawberry.mutation
    async def update_program(
        self, info: Info, id: strawberry.ID, input: UpdateProgramInput
    ) -> UpdateProgramResult:
        service = info.context.services.programs
        return Program.of(await service.update(to_uuid(id, "Program"), input.to_changes()))

    @strawberry.mutation(
        description="DRAFT or ERROR (or READY, again) → INITIALIZING → READY | ERROR."
    )
    async def initialize_program(self, info: Info, id: strawberry.ID) -> InitializeProgramResult:
        return Program.of(await info.context.services.programs.initialize(to_uuid(id, "Program")))

    @strawberry.mutation(description="A DRAFT copy, version 1, whose parent is the original.")
    async def clone_program(self, info: Info, id: strawberry.ID, name: str) -> CloneProgramResult:
        return Program.of(await info.context.services.programs.clone(to_uuid(id, "Program"), name))

    @strawberry.mutation(description="Soft delete: hidden from lists, kept with its executions.")
    async def archive_program(self, info: Info, id: strawberry.ID) -> ArchiveProgramResult:
        return Program.of(await info.context.services.programs.archive(to_uuid(id, "Program")))

    @strawberry.mutation(
        description="Shallow merge into performanceMetrics; a null value removes a key."
    )
    async def update_program_metrics(
        self, info: Info, id: strawberry.ID, metrics: JSON
    ) -> UpdateProgramMetricsResult:
        service = info.context.services.programs
        return Program.of(await service.update_metrics(to_uuid(id, "Program"), metrics))

    @strawberry.mutation(
        description='Create a program from DSPy\'s JSON state (`module.save("x.json")`).'
    )
    async def import_program(self, info: Info, input: ImportProgramInput) -> ImportProgramResult:
        return Program.of(await info.context.services.programs.create(input.to_new()))

    @strawberry.mutation(
        description='The program as DSPy\'s JSON state, for `module.load("x.json")`.'
    )
    async def export_program(self, info: Info, id: strawberry.ID) -> ExportProgramResult:
        return ProgramExport.of(await info.context.services.programs.export(to_uuid(id, "Program")))

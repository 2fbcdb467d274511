from __future__ import annotations

import strawberry

from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.programs.schema.inputs import ProgramFilter, ProgramOrder
from dspex_gql.programs.schema.types import PROGRAM_COLUMNS, Program


@strawberry.type
class ProgramQuery:
    program = field_by_id(Program, lambda services: services.programs, columns_of=PROGRAM_COLUMNS)
    programs = list_field(
        Program,
        ProgramFilter,
        ProgramOrder,
        lambda services: services.programs,
        columns_of=PROGRAM_COLUMNS,
        description="ARCHIVED programs are hidden unless the filter mentions status.",
    )

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import func, select

from dspex_gql import policies
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import TenantRepository
from dspex_gql.optimization_runs.models import OptimizationRun
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.variable_spaces.models import VariableSpace


class VariableSpaceRepository(TenantRepository[VariableSpace]):
    model = VariableSpace
    resource = "VariableSpace"
    listing = Listing(
        fields={
            "name": VariableSpace.name,
            "visibility": VariableSpace.visibility,
            "created_at": VariableSpace.created_at,
            "updated_at": VariableSpace.updated_at,
        },
        id=VariableSpace.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    async def program_counts(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        """Live (not archived) programs using each space that the reader can see."""
        query = (
            select(Program.variable_space_id, func.count())
            .where(Program.organization_id == self.organization_id)
            .where(Program.variable_space_id.in_(set(ids)))
            .where(Program.status != ProgramStatus.ARCHIVED)
            .group_by(Program.variable_space_id)
        )
        visible = policies.readable(self.reader, Program)
        if visible is not None:
            query = query.where(visible)
        rows = await self.session.execute(query)
        return {row[0]: row[1] for row in rows if row[0] is not None}

    async def in_use(self, id: UUID) -> bool:
        """Used by any program or run of the organization, whoever may see them."""
        programs = select(Program.id).where(
            Program.organization_id == self.organization_id, Program.variable_space_id == id
        )
        runs = select(OptimizationRun.id).where(
            OptimizationRun.organization_id == self.organization_id,
            OptimizationRun.variable_space_id == id,
        )
        found = await self.session.scalars(programs.union_all(runs).limit(1))
        return found.first() is not None

    async def delete(self, space: VariableSpace) -> None:
        await self.session.delete(space)
        await self.session.flush()

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.quota import ComputeQuota, with_quota
from dspex_gql.db.base import utcnow
from dspex_gql.db.listing import FilterExpr, Listing, Page, PageRequest, SortKey, mentions
from dspex_gql.db.repository import TenantRepository
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.stored import fields_signature


class ProgramRepository(TenantRepository[Program]):
    model = Program
    resource = "Program"
    listing = Listing(
        fields={
            "name": Program.name,
            "status": Program.status,
            "type": Program.type,
            "adapter": Program.adapter,
            "visibility": Program.visibility,
            "tags": Program.tags,
            "signature_id": Program.signature_id,
            "parent_id": Program.parent_id,
            "variable_space_id": Program.variable_space_id,
            "created_at": Program.created_at,
            "updated_at": Program.updated_at,
        },
        id=Program.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    async def page(self, request: PageRequest, query: Select[Any] | None = None) -> Page[Program]:
        return await super().page(request, self._listed(request.filter, query))

    async def count(self, filter: FilterExpr | None, query: Select[Any] | None = None) -> int:
        return await super().count(filter, self._listed(filter, query))

    def _listed(self, filter: FilterExpr | None, query: Select[Any] | None) -> Select[Any]:
        """Archived programs are listed only when the filter asks about status."""
        base = query if query is not None else self._select()
        if mentions(filter, "status"):
            return base
        return base.where(Program.status != ProgramStatus.ARCHIVED)

    async def children(self, parent_ids: Iterable[UUID]) -> dict[UUID, list[Program]]:
        query = (
            self._select()
            .where(Program.parent_id.in_(set(parent_ids)))
            .order_by(Program.created_at)
        )
        found: dict[UUID, list[Program]] = {}
        for child in await self.session.scalars(query):
            found.setdefault(child.parent_id, []).append(child)  # type: ignore[arg-type]
        return found

    async def with_signatures(self, ids: Iterable[UUID]) -> dict[UUID, tuple[Program, Signature]]:
        """The programs among `ids` (as `get_many`), each with its signature, in one query."""
        wanted = set(ids)
        if not wanted:
            return {}
        query, parameters = self._statement("with signatures", _with_signatures)
        found = await self.session.execute(query, parameters | {"ids": list(wanted)})
        return {program.id: (program, signature) for program, signature in found}

    async def signatures(self, ids: Iterable[UUID]) -> dict[UUID, ParsedSignature]:
        """The signature of each program among `ids` the reader sees, read as two columns (what
        checking a DAG definition needs, without loading programs)."""
        wanted = set(ids)
        if not wanted:
            return {}
        query, parameters = self._statement("signatures", _signatures)
        found = await self.session.execute(query, parameters | {"ids": list(wanted)})
        return {id: fields_signature(inputs, outputs) for id, inputs, outputs in found}

    async def to_run(self, id: UUID) -> tuple[Program, Signature, ComputeQuota]:
        """The program (NotFound when the reader cannot see it), its signature and its
        organization's compute quota, in one query."""
        program, signature, limit, used = await self._required("to run", _to_run, id)
        return program, signature, ComputeQuota(limit, used)

    async def finish_initialization(
        self, id: UUID, process_id: UUID, values: Mapping[str, Any]
    ) -> bool:
        """Unless the initialization was taken over meanwhile (its process presumed dead)."""
        statement = (
            update(Program)
            .where(Program.organization_id == self.organization_id, Program.id == id)
            .where(Program.status == ProgramStatus.INITIALIZING)
            .where(Program.process_id == process_id)
            .values(updated_at=utcnow(), process_id=None, **values)
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish_optimization(self, id: UUID) -> bool:
        statement = (
            update(Program)
            .where(Program.organization_id == self.organization_id, Program.id == id)
            .where(Program.status == ProgramStatus.OPTIMIZING)
            .values(status=ProgramStatus.READY, updated_at=utcnow())
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def fail_abandoned_initializations(
    session: AsyncSession, abandoned: Callable[[Any], ColumnElement[bool]], error: str
) -> int:
    """Initializations no live process runs end in ERROR with `error`."""
    statement = (
        update(Program)
        .where(Program.status == ProgramStatus.INITIALIZING, abandoned(Program.process_id))
        .values(
            status=ProgramStatus.ERROR, error_message=error, process_id=None, updated_at=utcnow()
        )
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _with_signature(programs: Select[Any]) -> Select[Any]:
    return programs.add_columns(Signature).join(Signature, Signature.id == Program.signature_id)


def _with_signatures(programs: Select[Any]) -> Select[Any]:
    return _with_signature(programs).where(Program.id.in_(bindparam("ids", expanding=True)))


def _signatures(programs: Select[Any]) -> Select[Any]:
    return (
        programs.with_only_columns(Program.id, Signature.inputs, Signature.outputs)
        .join(Signature, Signature.id == Program.signature_id)
        .where(Program.id.in_(bindparam("ids", expanding=True)))
    )


def _to_run(programs: Select[Any]) -> Select[Any]:
    one = _with_signature(programs).where(Program.id == bindparam("id"))
    return with_quota(one, Program.organization_id)

"""Repositories own all SQL. A `TenantRepository` is bound to one session and one organization:
every query starts from `self._select()`, which already carries the tenant filter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.base import TenantOwned
from dspex_gql.db.listing import FilterExpr, Listing, Page, PageRequest
from dspex_gql.errors import NotFound

M = TypeVar("M", bound=TenantOwned)


class TenantRepository(Generic[M]):
    model: ClassVar[type[Any]]
    resource: ClassVar[str]
    listing: ClassVar[Listing]

    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def _select(self) -> Select[M]:
        return select(self.model).where(self.model.organization_id == self.organization_id)

    async def get(self, id: UUID) -> M | None:
        result = await self.session.scalars(self._select().where(self.model.id == id))
        return result.one_or_none()

    async def require(self, id: UUID) -> M:
        """The row, or NotFound: another organization's row does not exist here."""
        row = await self.get(id)
        if row is None:
            raise NotFound(self.resource, id)
        return row

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        wanted = set(ids)
        if not wanted:
            return {}
        result = await self.session.scalars(self._select().where(self.model.id.in_(wanted)))
        return {row.id: row for row in result}

    async def page(self, request: PageRequest, query: Select[Any] | None = None) -> Page[M]:
        base = query if query is not None else self._select()
        return await self.listing.page(self.session, base, request)

    async def count(self, filter: FilterExpr | None, query: Select[Any] | None = None) -> int:
        return await self.listing.count(
            self.session, query if query is not None else self._select(), filter
        )

    def add(self, row: M, created_by: UUID | None = None) -> M:
        row.organization_id = self.organization_id
        row.created_by = created_by
        self.session.add(row)
        return row

    async def flush(self) -> None:
        await self.session.flush()

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.audit.models import AuditLog
from dspex_gql.db.listing import FilterExpr, Listing, Page, PageRequest, SortKey


class AuditLogRepository:
    """Reads only: rows are appended by `recorder.record` and never changed."""

    listing = Listing(
        fields={
            "action": AuditLog.action,
            "resource_type": AuditLog.resource_type,
            "resource_id": AuditLog.resource_id,
            "actor_id": AuditLog.actor_id,
            "created_at": AuditLog.created_at,
        },
        id=AuditLog.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def _select(self) -> Select[Any]:
        return select(AuditLog).where(AuditLog.organization_id == self.organization_id)

    async def page(self, request: PageRequest) -> Page[AuditLog]:
        return await self.listing.page(self.session, self._select(), request)

    async def count(self, filter: FilterExpr | None) -> int:
        return await self.listing.count(self.session, self._select(), filter)

from __future__ import annotations

from dspex_gql import policies
from dspex_gql.audit.models import AuditLog
from dspex_gql.audit.repository import AuditLogRepository
from dspex_gql.db.listing import FilterExpr, Page, PageRequest
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.identity import Actor


class AuditService:
    def __init__(self, uow: UnitOfWorkFactory, actor: Actor) -> None:
        self._uow = uow
        self._actor = actor

    async def page(self, request: PageRequest) -> Page[AuditLog]:
        policies.ensure_admin(self._actor, "read the audit log")
        async with self._uow.read() as tx:
            return await AuditLogRepository(tx.session, self._actor.organization_id).page(request)

    async def count(self, filter: FilterExpr | None) -> int:
        policies.ensure_admin(self._actor, "read the audit log")
        async with self._uow.read() as tx:
            return await AuditLogRepository(tx.session, self._actor.organization_id).count(filter)

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.audit import models
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.filters import DateTimeFilter, IDFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.root_fields import list_field


@strawberry.type(description="One successful change. Immutable: nothing changes or deletes it.")
class AuditLog:
    id: strawberry.ID
    action: str = strawberry.field(description="e.g. program.create, apiKey.revoke, auth.signIn")
    resource_type: str
    resource_id: strawberry.ID | None
    changes: JSON = strawberry.field(description="The changed fields; secrets never appear.")
    metadata: JSON
    request_id: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    actor_id: strawberry.Private[UUID | None]

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await user_by_id(info, self.actor_id)

    @classmethod
    def of(cls, row: models.AuditLog) -> AuditLog:
        return cls(
            id=strawberry.ID(str(row.id)),
            action=row.action,
            resource_type=row.resource_type,
            resource_id=None if row.resource_id is None else strawberry.ID(row.resource_id),
            changes=JSON(row.changes),
            metadata=JSON(row.meta),
            request_id=row.request_id,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            created_at=row.created_at,
            actor_id=row.actor_id,
        )


@strawberry.input
class AuditLogFilter:
    and_: list[AuditLogFilter] | None = filter_field("and")
    or_: list[AuditLogFilter] | None = filter_field("or")
    not_: AuditLogFilter | None = filter_field("not")
    action: StringFilter | None = filter_field()
    resource_type: StringFilter | None = filter_field()
    resource_id: StringFilter | None = filter_field()
    actor_id: IDFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class AuditLogOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"


@strawberry.input(name="AuditLogOrder")
class AuditLogOrder(Order[AuditLogOrderField]):
    pass


@strawberry.type
class AuditQuery:
    audit_logs = list_field(
        AuditLog,
        AuditLogFilter,
        AuditLogOrder,
        lambda services: services.audit,
        description="Admins only; newest first.",
    )

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, utcnow
from dspex_gql.ids import new_id


class AuditLog(Base):
    """Append-only. No foreign keys on purpose: nothing may cascade into a row of the log."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "action"),
        Index(None, "organization_id", "resource_type", "resource_id"),
        Index(None, "organization_id", "actor_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(100))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONValue)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

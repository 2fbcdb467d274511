from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.policies import Visibility


class SignatureStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    DEPRECATED = "DEPRECATED"


class Signature(TenantOwned, Base):
    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("organization_id", "name", "version"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "updated_at", "id"),
        Index(None, "organization_id", "status"),
        Index(None, "organization_id", "version"),
        Index(None, "organization_id", "visibility"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    version: Mapped[str] = mapped_column(String(50))
    status: Mapped[SignatureStatus] = mapped_column(
        enum_column(SignatureStatus, "signature_status")
    )
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "visibility"))

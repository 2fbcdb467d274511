from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.policies import Visibility


class VariableSpace(TenantOwned, Base):
    """Variables and dependencies are stored in their API form (see `engine.variables`)."""

    __tablename__ = "variable_spaces"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "updated_at", "id"),
        Index(None, "organization_id", "name", "id"),
        Index(None, "organization_id", "visibility"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    dependencies: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    constraints: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "visibility"))

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.policies import Visibility


class LanguageModel(TenantOwned, Base):
    """A model the `dspy` adapter calls; programs name it in their configuration (`lm`)."""

    __tablename__ = "language_models"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "updated_at", "id"),
        Index(None, "organization_id", "visibility"),
    )

    name: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(Text)
    api_key_ciphertext: Mapped[str | None] = mapped_column(Text)
    """The API key encrypted with the secrets key (`secrets_box`); never the key itself."""
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    prompt_price_per_million: Mapped[float | None] = mapped_column(Float)
    completion_price_per_million: Mapped[float | None] = mapped_column(Float)
    max_concurrency: Mapped[int] = mapped_column(Integer)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "visibility"))

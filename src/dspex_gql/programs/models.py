from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.policies import Visibility


class ProgramStatus(StrEnum):
    DRAFT = "DRAFT"
    INITIALIZING = "INITIALIZING"
    READY = "READY"
    ERROR = "ERROR"
    OPTIMIZING = "OPTIMIZING"
    ARCHIVED = "ARCHIVED"


class Program(TenantOwned, Base):
    __tablename__ = "programs"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "updated_at", "id"),
        Index(None, "organization_id", "name", "id"),
        Index(None, "organization_id", "status"),
        Index(None, "organization_id", "type"),
        Index(None, "organization_id", "adapter"),
        Index(None, "organization_id", "visibility"),
        Index("ix_programs_tags", "tags", postgresql_using="gin"),
        Index(None, "status", "process_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[ProgramType] = mapped_column(enum_column(ProgramType, "program_type"))
    implementation: Mapped[str | None] = mapped_column(String(100))
    adapter: Mapped[str] = mapped_column(String(50))
    status: Mapped[ProgramStatus] = mapped_column(enum_column(ProgramStatus, "program_status"))
    error_message: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signatures.id"), index=True)
    configuration: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    compiled_state: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    """A DSPy program state (demos, instructions) a DSPy optimizer compiled, or one imported."""
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("programs.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    performance_metrics: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    tags: Mapped[list[str]] = mapped_column(JSONValue)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "visibility"))
    variable_space_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("variable_spaces.id", ondelete="SET NULL"), index=True
    )
    process_id: Mapped[uuid.UUID | None]
    """While INITIALIZING: the service process initializing it (see `orchestrator/processes.py`)."""


def derived_program(
    source: Program,
    *,
    name: str,
    configuration: dict[str, Any],
    version: int = 1,
    performance_metrics: dict[str, Any] | None = None,
    compiled_state: dict[str, Any] | None = None,
) -> Program:
    """A DRAFT child of `source`: same program (and compiled state, unless given), its own
    name, configuration and version."""
    return Program(
        name=name.strip(),
        description=source.description,
        type=source.type,
        adapter=source.adapter,
        implementation=source.implementation,
        status=ProgramStatus.DRAFT,
        signature_id=source.signature_id,
        configuration=configuration,
        compiled_state=source.compiled_state if compiled_state is None else compiled_state,
        parent_id=source.id,
        version=version,
        performance_metrics=performance_metrics or {},
        tags=list(source.tags),
        visibility=source.visibility,
        variable_space_id=source.variable_space_id,
    )

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column


class ExecutionStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})


class Execution(TenantOwned, Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "completed_at", "id"),
        Index(None, "organization_id", "duration_ms", "id"),
        Index(None, "organization_id", "status"),
        Index(None, "program_id", "created_at", "id"),
        Index(None, "status", "process_id"),
    )

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    status: Mapped[ExecutionStatus] = mapped_column(
        enum_column(ExecutionStatus, "execution_status")
    )
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    error: Mapped[str | None] = mapped_column(Text)
    variable_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONValue)
    trace: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    node_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("node_executions.id", ondelete="SET NULL"), index=True
    )
    """Set when a DAG run's node started it (see `dags/`)."""
    process_id: Mapped[uuid.UUID | None]
    """The service process running it (see `orchestrator/processes.py`)."""


class ProgramExecutionStats(Base):
    """Running totals of a program's executions, kept by database triggers on `executions` (see
    migration 0010) in the transaction that writes them, whichever code path writes: reading them
    costs the same at any history length."""

    __tablename__ = "program_execution_stats"

    program_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    execution_count: Mapped[int] = mapped_column(BigInteger)
    completed_count: Mapped[int] = mapped_column(BigInteger)
    failed_count: Mapped[int] = mapped_column(BigInteger)
    completed_duration_ms: Mapped[int] = mapped_column(BigInteger)
    """The sum of `duration_ms` over COMPLETED executions that have one."""
    timed_completed_count: Mapped[int] = mapped_column(BigInteger)
    total_cost: Mapped[float] = mapped_column(Float)
    total_tokens: Mapped[int] = mapped_column(BigInteger)
    last_executed_at: Mapped[datetime | None]

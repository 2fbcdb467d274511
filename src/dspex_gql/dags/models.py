"""DAGs, their immutable versions, their runs and the runs' node executions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.engine.dags.states import TERMINAL, UNFINISHED, RunStatus
from dspex_gql.policies import Visibility


class DagStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


__all__ = [
    "TERMINAL",
    "UNFINISHED",
    "Dag",
    "DagRun",
    "DagStatus",
    "DagVersion",
    "NodeExecution",
    "RunStatus",
]

_LIVE = text("deleted_at IS NULL")


class Dag(TenantOwned, Base):
    __tablename__ = "dags"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "updated_at", "id"),
        Index(None, "organization_id", "status"),
        Index(
            "uq_dags_organization_id_name_live",
            "organization_id",
            "name",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DagStatus] = mapped_column(enum_column(DagStatus, "dag_status"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The current version: the one `definition` holds and new runs run."""
    definition: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "visibility"))
    deleted_at: Mapped[datetime | None]


class DagVersion(TenantOwned, Base):
    """One definition a DAG had, never changed once written: runs pin the version they ran."""

    __tablename__ = "dag_versions"
    __table_args__ = (UniqueConstraint("dag_id", "version"),)

    dag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dags.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONValue)


class DagRun(TenantOwned, Base):
    __tablename__ = "dag_runs"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "completed_at", "id"),
        Index(None, "organization_id", "status"),
        Index(None, "dag_id", "created_at", "id"),
        Index(None, "status", "process_id"),
    )

    dag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dags.id", ondelete="CASCADE"))
    dag_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "dag_run_status"))
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    context: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    error: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    """How many runs came before this one in its chain of retries."""
    retry_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dag_runs.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    total_nodes: Mapped[int] = mapped_column(Integer, default=0)
    succeeded_nodes: Mapped[int] = mapped_column(Integer, default=0)
    failed_nodes: Mapped[int] = mapped_column(Integer, default=0)
    finished_nodes: Mapped[int] = mapped_column(Integer, default=0)
    node_duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    """Summed over finished nodes that ran (for the average)."""
    ran_nodes: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    process_id: Mapped[uuid.UUID | None]
    """The service process running it (see `orchestrator/processes.py`)."""


class NodeExecution(TenantOwned, Base):
    """One node of one run; PROGRAM nodes run as executions (`Execution.node_execution_id`)."""

    __tablename__ = "node_executions"
    __table_args__ = (UniqueConstraint("dag_run_id", "node_name"),)

    dag_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dag_runs.id", ondelete="CASCADE"))
    node_name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    """The node's place in the definition."""
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "node_execution_status"))
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    """The run's sequence when this row last changed: subscribers read what changed after one."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    execution_id: Mapped[uuid.UUID | None]
    """The execution of its latest attempt (PROGRAM nodes that are not fanned out)."""
    reused_from_id: Mapped[uuid.UUID | None]
    """The node execution of an earlier run whose result a retried run reused."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base, JSONValue, TenantOwned
from dspex_gql.db.enums import enum_column
from dspex_gql.engine.optimization import ConvergenceStatus, StrategyKind


class OptimizationStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {OptimizationStatus.COMPLETED, OptimizationStatus.FAILED, OptimizationStatus.CANCELLED}
)


class OptimizationRun(TenantOwned, Base):
    """A run and its settings, captured at start so a resumed run runs the same thing."""

    __tablename__ = "optimization_runs"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "completed_at", "id"),
        Index(None, "organization_id", "best_score", "id"),
        Index(None, "organization_id", "status"),
        Index(None, "program_id", "created_at", "id"),
        Index(None, "variable_space_id", "created_at", "id"),
        Index(None, "status", "process_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    variable_space_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("variable_spaces.id", ondelete="CASCADE")
    )
    strategy: Mapped[StrategyKind] = mapped_column(
        enum_column(StrategyKind, "optimization_strategy")
    )
    status: Mapped[OptimizationStatus] = mapped_column(
        enum_column(OptimizationStatus, "optimization_status")
    )
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    metric: Mapped[str] = mapped_column(String(100))
    objectives: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    max_iterations: Mapped[int] = mapped_column(Integer)
    max_cost: Mapped[float | None] = mapped_column(Float)
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    patience: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    strategy_options: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    space: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    """The variable space as it was at start: `{"variables": [...], "dependencies": [...]}`."""
    training_data: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    iterations_completed: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float | None] = mapped_column(Float)
    best_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    best_program_state: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    convergence_score: Mapped[float | None] = mapped_column(Float)
    convergence_status: Mapped[ConvergenceStatus] = mapped_column(
        enum_column(ConvergenceStatus, "convergence_status")
    )
    pareto_frontier: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    process_id: Mapped[uuid.UUID | None]
    """The service process running it (see `orchestrator/processes.py`)."""


class Evaluation(TenantOwned, Base):
    """One configuration scored on the training data; (run, iteration) is unique, so a resumed
    run never stores an iteration twice."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("optimization_run_id", "iteration"),
        Index(None, "optimization_run_id", "score", "id"),
    )

    optimization_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("optimization_runs.id", ondelete="CASCADE")
    )
    iteration: Mapped[int] = mapped_column(Integer)
    configuration: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    score: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    status: Mapped[str] = mapped_column(String(20))
    examples: Mapped[list[int] | None] = mapped_column(JSONValue)
    """Indices of the training examples evaluated (a SIMBA mini-batch); null: all of them."""
    example_scores: Mapped[list[float]] = mapped_column(JSONValue)
    program_state: Mapped[dict[str, Any] | None] = mapped_column(JSONValue, default=None)
    """The compiled DSPy program state this evaluation scored (DSPy optimizers only)."""

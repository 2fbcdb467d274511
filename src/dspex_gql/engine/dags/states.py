"""What a run knows of each node as it runs: its state, and each call of a program it made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dspex_gql.engine.adapters.base import AdapterResult
from dspex_gql.ids import new_id


class RunStatus(StrEnum):
    """Of a DAG run and of each of its nodes (SKIPPED: nodes only — an upstream node failed, or
    the run was cancelled before the node started)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED})
UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)


class CallStatus(StrEnum):
    """Of one call of a program (stored as an execution: the same values)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class NodeState:
    name: str
    position: int
    id: uuid.UUID = field(default_factory=new_id)
    status: RunStatus = RunStatus.PENDING
    attempts: int = 0
    inputs: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    cost: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    execution_id: uuid.UUID | None = None
    """The call of its latest attempt (not for fanned-out nodes, which make one per item)."""
    reused_from_id: uuid.UUID | None = None

    def reset(self) -> None:
        """Back to PENDING, to run again (a resumed run's unfinished node, a retried failure);
        its attempts go on counting."""
        self.status, self.error, self.result, self.inputs = RunStatus.PENDING, None, None, None
        self.started_at = self.completed_at = self.duration_ms = self.execution_id = None
        self.cost, self.prompt_tokens, self.completion_tokens = 0.0, 0, 0


@dataclass(eq=False)
class Call:
    """One call of a program by a node: an attempt, or one item of a fanned-out attempt."""

    node: str
    program_id: str
    inputs: dict[str, Any]
    attempt: int
    item: int | None = None
    id: uuid.UUID = field(default_factory=new_id)
    status: CallStatus = CallStatus.RUNNING
    sequence: int = 1
    started_at: datetime = field(default_factory=now)
    completed_at: datetime | None = None
    duration_ms: int | None = None
    result: AdapterResult | None = None
    error: str | None = None

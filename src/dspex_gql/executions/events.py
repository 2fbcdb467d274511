from __future__ import annotations

from datetime import datetime
from uuid import UUID

from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.pubsub import Event


class ExecutionChanged(Event):
    """A state change, small by design: results are read from the store on a terminal state."""

    id: UUID
    program_id: UUID
    status: ExecutionStatus
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def key(self) -> str:
        return str(self.id)

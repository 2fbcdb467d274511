from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.pubsub import channels
from dspex_gql.runs.events import RunEvent


class ExecutionChanged(RunEvent):
    """A state change, small by design: results are read from the store on a terminal state."""

    program_id: UUID
    status: ExecutionStatus
    started_at: datetime | None = None
    completed_at: datetime | None = None

    def channels(self) -> Sequence[str]:
        return [channels.execution(self.id), channels.program_executions(self.program_id)]

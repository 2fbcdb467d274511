from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from dspex_gql.dags.models import RunStatus
from dspex_gql.pubsub import channels
from dspex_gql.runs.events import RunEvent


class DagRunChanged(RunEvent):
    """A run's state as stored; its nodes that changed carry the run's `sequence` of this event,
    so subscribers read the nodes changed since the last event they saw."""

    dag_id: UUID
    status: RunStatus
    finished_nodes: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None

    def channels(self) -> Sequence[str]:
        return [channels.dag_run(self.id)]

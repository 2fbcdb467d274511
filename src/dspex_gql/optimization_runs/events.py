from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from dspex_gql.optimization_runs.models import OptimizationStatus
from dspex_gql.pubsub import channels
from dspex_gql.runs.events import RunEvent


class OptimizationChanged(RunEvent):
    """Progress of a run, small by design: the frontier and results are read from the store."""

    program_id: UUID
    status: OptimizationStatus
    iterations_completed: int = 0
    best_score: float | None = None

    def channels(self) -> Sequence[str]:
        return [channels.optimization_run(self.id)]

from __future__ import annotations

from uuid import UUID

from dspex_gql.optimization_runs.models import OptimizationStatus
from dspex_gql.pubsub import Event


class OptimizationChanged(Event):
    """Progress of a run, small by design: the frontier and results are read from the store."""

    id: UUID
    program_id: UUID
    status: OptimizationStatus
    iterations_completed: int = 0
    best_score: float | None = None

    @property
    def key(self) -> str:
        return str(self.id)

"""Runs jobs (executions, initializations, optimization loops, later DAG runs) as asyncio tasks,
and writes their progress behind the hot path."""

from dspex_gql.orchestrator.orchestrator import (
    SHUTDOWN_REASON,
    SUPERSEDED,
    Job,
    Orchestrator,
    cancel_reason,
)
from dspex_gql.orchestrator.reporter import ProgressReporter, StateWriter

__all__ = [
    "SHUTDOWN_REASON",
    "SUPERSEDED",
    "Job",
    "Orchestrator",
    "ProgressReporter",
    "StateWriter",
    "cancel_reason",
]

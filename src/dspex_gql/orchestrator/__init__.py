"""Runs jobs (executions, initializations, later optimization loops and DAG runs) as asyncio
tasks, and writes their progress behind the hot path."""

from dspex_gql.orchestrator.orchestrator import Job, Orchestrator, cancel_reason
from dspex_gql.orchestrator.reporter import Progress, ProgressReporter

__all__ = ["Job", "Orchestrator", "Progress", "ProgressReporter", "cancel_reason"]

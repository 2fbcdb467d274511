"""Every channel name, built here and nowhere else; each channel carries one event type."""

from __future__ import annotations

from uuid import UUID


def execution(id: UUID) -> str:
    """`ExecutionChanged` events of one execution."""
    return f"dspex.execution.{id}"


def program_executions(program_id: UUID) -> str:
    """`ExecutionChanged` events of every execution of one program."""
    return f"dspex.program-executions.{program_id}"


def optimization_run(id: UUID) -> str:
    """`OptimizationChanged` events of one optimization run."""
    return f"dspex.optimization-run.{id}"


def credentials(user_id: UUID) -> str:
    """`CredentialsChanged` events of one user."""
    return f"dspex.credentials.{user_id}"


def all_credentials() -> str:
    """`CredentialsChanged` events of every user (caches of credentials listen to it)."""
    return "dspex.credentials"


def dag_run(id: UUID) -> str:
    """`DagRunChanged` events of one DAG run (its nodes' changes included)."""
    return f"dspex.dag-run.{id}"

"""A DAG run's progress as rows of `node_executions` and `executions` (column names as keys),
written together with each state of the run by `db.bulk`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Table

from dspex_gql.dags.models import NodeExecution
from dspex_gql.db.base import utcnow
from dspex_gql.engine.dags.states import Call, NodeState
from dspex_gql.executions.models import Execution, ExecutionStatus

NODE_EXECUTIONS: Table = NodeExecution.__table__  # type: ignore[assignment]
EXECUTIONS: Table = Execution.__table__  # type: ignore[assignment]


def node_row(
    state: NodeState, organization_id: UUID, run_id: UUID, sequence: int
) -> dict[str, Any]:
    """A node's row as first inserted."""
    return {
        "organization_id": organization_id,
        "dag_run_id": run_id,
        "node_name": state.name,
        "position": state.position,
    } | node_changes(state, sequence)


def node_changes(state: NodeState, sequence: int) -> dict[str, Any]:
    """What a node's row can change to after its insert (the rest stays as inserted: an UPDATE
    that sets an indexed or foreign key column pays for that index or key, even unchanged)."""
    return {
        "id": state.id,
        "status": state.status,
        "sequence": sequence,
        "attempts": state.attempts,
        "inputs": state.inputs,
        "result": state.result,
        "error": state.error,
        "started_at": state.started_at,
        "completed_at": state.completed_at,
        "duration_ms": state.duration_ms,
        "cost": state.cost,
        "prompt_tokens": state.prompt_tokens,
        "completion_tokens": state.completion_tokens,
        "execution_id": state.execution_id,
        "reused_from_id": state.reused_from_id,
        "updated_at": utcnow(),
    }


def execution_row(
    call: Call,
    *,
    organization_id: UUID,
    program_id: UUID,
    node_execution_id: UUID,
    run_id: UUID,
    process_id: UUID,
    triggered_by: UUID | None,
) -> dict[str, Any]:
    result = call.result
    options: dict[str, Any] = {"dagRunId": str(run_id), "node": call.node, "attempt": call.attempt}
    if call.item is not None:
        options["item"] = call.item
    return {
        "id": call.id,
        "organization_id": organization_id,
        "created_by": triggered_by,
        "program_id": program_id,
        "node_execution_id": node_execution_id,
        "status": ExecutionStatus(call.status.value),
        "sequence": call.sequence,
        "inputs": call.inputs,
        "outputs": None if result is None else result.outputs,
        "error": call.error,
        "variable_configuration": None,
        "options": options,
        "duration_ms": call.duration_ms,
        "prompt_tokens": None if result is None else result.prompt_tokens,
        "completion_tokens": None if result is None else result.completion_tokens,
        "cost": None if result is None else result.cost,
        "metadata": {} if result is None else result.metadata,
        "trace": None if result is None else result.trace,
        "started_at": call.started_at,
        "completed_at": call.completed_at,
        "process_id": process_id,
        "created_at": call.started_at,
        "updated_at": utcnow(),
    }

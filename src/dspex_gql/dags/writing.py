"""A DAG run's progress as rows of `node_executions` and `executions` (column names as keys),
written together with each state of the run by `db.bulk`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table

from dspex_gql.dags.models import NodeExecution
from dspex_gql.engine.dags.states import Call, NodeState, RunStatus
from dspex_gql.executions.models import Execution, ExecutionStatus

NODE_EXECUTIONS: Table = NodeExecution.__table__  # type: ignore[assignment]
EXECUTIONS: Table = Execution.__table__  # type: ignore[assignment]


def node_row(state: NodeState) -> dict[str, Any]:
    """A node's row as first inserted, with `nodes_inserted` (the same for every node)."""
    return {"node_name": state.name, "position": state.position} | node_changes(state)


def never_ran(state: NodeState) -> bool:
    """A node as `NodeState(name, position)` makes it: its row is `unstarted_row` + `UNSTARTED`."""
    return state.status is RunStatus.PENDING and state.attempts == 0


def unstarted_row(state: NodeState) -> dict[str, Any]:
    """What sets the row of a node that `never_ran` apart; `UNSTARTED` is the rest."""
    return {"id": state.id, "node_name": state.name, "position": state.position}


def nodes_inserted(
    organization_id: UUID, run_id: UUID, sequence: int, at: datetime
) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "dag_run_id": run_id,
        "created_at": at,
    } | nodes_changed(sequence, at)


def node_changes(state: NodeState) -> dict[str, Any]:
    """What a node's row can change to after its insert (the rest stays as inserted: an UPDATE
    that sets an indexed or foreign key column pays for that index or key, even unchanged),
    with `nodes_changed` (the same for every node of one write)."""
    return {
        "id": state.id,
        "status": state.status,
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
    }


UNSTARTED: dict[str, Any] = {
    key: value for key, value in node_changes(NodeState("", 0)).items() if key != "id"
}
"""The columns of every node that `never_ran`, alike: written once for a run's thousand."""


def nodes_changed(sequence: int, at: datetime) -> dict[str, Any]:
    return {"sequence": sequence, "updated_at": at}


def executions_inserted(
    organization_id: UUID, process_id: UUID, triggered_by: UUID | None, at: datetime
) -> dict[str, Any]:
    """The columns every execution of one run's write has alike (`execution_row` the rest)."""
    return {
        "organization_id": organization_id,
        "created_by": triggered_by,
        "process_id": process_id,
        "variable_configuration": None,
        "updated_at": at,
    }


def execution_row(
    call: Call, *, program_id: UUID, node_execution_id: UUID, run_id: str
) -> dict[str, Any]:
    """`run_id`: the run's id as text (in `options`)."""
    result = call.result
    options: dict[str, Any] = {"dagRunId": run_id, "node": call.node, "attempt": call.attempt}
    if call.item is not None:
        options["item"] = call.item
    return {
        "id": call.id,
        "program_id": program_id,
        "node_execution_id": node_execution_id,
        "status": ExecutionStatus(call.status.value),
        "sequence": call.sequence,
        "inputs": call.inputs,
        "outputs": None if result is None else result.outputs,
        "error": call.error,
        "options": options,
        "duration_ms": call.duration_ms,
        "prompt_tokens": None if result is None else result.prompt_tokens,
        "completion_tokens": None if result is None else result.completion_tokens,
        "cost": None if result is None else result.cost,
        "metadata": {} if result is None else result.metadata,
        "trace": None if result is None else result.trace,
        "started_at": call.started_at,
        "completed_at": call.completed_at,
        "created_at": call.started_at,
    }

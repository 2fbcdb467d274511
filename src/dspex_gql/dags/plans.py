"""What a DAG run's job needs, captured when the run starts (or resumes): the definition of the
version it runs, how to call each program, and each node's state so far."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.dags.models import DagRun, DagVersion, NodeExecution, RunStatus
from dspex_gql.dags.programs import program_ids, programs_by_id
from dspex_gql.dags.runs_repository import NodeExecutionRepository
from dspex_gql.dags.stored_definitions import stored_definition
from dspex_gql.engine.adapters.base import AdapterRequest
from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.planning import sinks
from dspex_gql.engine.dags.states import NodeState
from dspex_gql.engine.language_models import LM_ADAPTER, named_models
from dspex_gql.errors import ValidationFailed
from dspex_gql.language_models.specs import require_language_models
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.stored import engine_signature

RUNNABLE = (ProgramStatus.READY, ProgramStatus.OPTIMIZING)


@dataclass(frozen=True)
class ProgramCall:
    """How a node calls one program: the request, to which each call adds its inputs."""

    program_id: UUID
    adapter: str
    implementation: str | None
    request: AdapterRequest


@dataclass
class DagRunPlan:
    id: UUID
    organization_id: UUID
    dag_id: UUID
    triggered_by: UUID | None
    process_id: UUID
    """The process that runs it (its lease): a run taken over by another is not written to."""
    definition: DagDefinition
    context: Mapping[str, Any]
    programs: Mapping[str, ProgramCall | str]
    """By program id as the definition writes it; a string says why that program cannot run."""
    nodes: dict[str, NodeState]
    sequence: int
    started_at: datetime | None

    @property
    def sinks(self) -> list[str]:
        return sinks(self.definition)


async def program_calls(
    session: AsyncSession,
    secrets: SecretBox,
    found: Mapping[str, tuple[Program, Signature]],
    wanted: Sequence[str],
) -> dict[str, ProgramCall | str]:
    """A call for each program of `wanted` that can run now, else why it cannot."""
    calls: dict[str, ProgramCall | str] = {}
    for id in wanted:
        if id not in found:
            calls[id] = f"program {id} no longer exists"
            continue
        program, signature = found[id]
        if program.status not in RUNNABLE:
            calls[id] = f"program '{program.name}' is {program.status.value}, not READY"
            continue
        try:
            calls[id] = await _call_of(session, secrets, program, signature)
        except ValidationFailed as error:
            calls[id] = f"program '{program.name}': {error.problems[0].message}"
    return calls


async def _call_of(
    session: AsyncSession, secrets: SecretBox, program: Program, signature: Signature
) -> ProgramCall:
    models = {}
    if program.adapter == LM_ADAPTER:
        names = named_models(program.configuration)
        models = await require_language_models(
            session, program.organization_id, names, secrets, "programId"
        )
    request = AdapterRequest(
        program_type=program.type,
        signature=engine_signature(signature),
        instructions=signature.instructions,
        inputs={},
        configuration=program.configuration,
        language_models=models,
        state=program.compiled_state,
    )
    return ProgramCall(program.id, program.adapter, program.implementation, request)


def node_states(definition: DagDefinition, rows: Sequence[NodeExecution]) -> dict[str, NodeState]:
    """Each node's state as stored (unfinished ones back to PENDING); PENDING for a new run."""
    stored = {row.node_name: row for row in rows}
    states = {}
    for position, node in enumerate(definition.nodes):
        row = stored.get(node.name)
        states[node.name] = NodeState(node.name, position) if row is None else _state_of(row)
    return states


def _state_of(row: NodeExecution) -> NodeState:
    state = NodeState(
        name=row.node_name,
        position=row.position,
        id=row.id,
        status=row.status,
        attempts=row.attempts,
        inputs=row.inputs,
        result=row.result,
        error=row.error,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_ms=row.duration_ms,
        cost=row.cost,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        execution_id=row.execution_id,
        reused_from_id=row.reused_from_id,
    )
    if row.status in (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.CANCELLED):
        state.reset()
    return state


async def definition_of(session: AsyncSession, run: DagRun) -> DagDefinition:
    query = select(DagVersion.definition).where(
        DagVersion.dag_id == run.dag_id, DagVersion.version == run.dag_version
    )
    return stored_definition(run.dag_id, run.dag_version, await session.scalar(query))


async def load_plan(session: AsyncSession, secrets: SecretBox, run: DagRun) -> DagRunPlan:
    """A stored run as it stands, to resume: succeeded and failed nodes stay as they are."""
    definition = await definition_of(session, run)
    rows = await NodeExecutionRepository(session, run.organization_id).of_run(run.id)
    wanted = sorted(program_ids(definition))
    found = await programs_by_id(session, run.organization_id, wanted)
    calls = await program_calls(session, secrets, found, wanted)
    return plan_of(run, definition, calls, node_states(definition, rows))


def plan_of(
    run: DagRun,
    definition: DagDefinition,
    programs: Mapping[str, ProgramCall | str],
    nodes: dict[str, NodeState],
) -> DagRunPlan:
    """The plan of a stored run (new, retried or resumed) and its nodes' states."""
    assert run.process_id is not None, "a run being started or resumed carries its process"
    return DagRunPlan(
        id=run.id,
        organization_id=run.organization_id,
        dag_id=run.dag_id,
        triggered_by=run.created_by,
        process_id=run.process_id,
        definition=definition,
        context=run.context,
        programs=programs,
        nodes=nodes,
        sequence=run.sequence,
        started_at=run.started_at,
    )


def reused(definition: DagDefinition, previous: Iterable[NodeExecution]) -> dict[str, NodeState]:
    """A retried run's nodes: those that succeeded before keep their outputs, the rest run
    (their attempt numbers going on from the previous run's)."""
    states = node_states(definition, [])
    for row in previous:
        state = states.get(row.node_name)
        if state is None:
            continue
        if row.status != RunStatus.SUCCESS:
            state.attempts = row.attempts  # attempt numbers go on across retries
            continue
        state.status, state.result, state.inputs = row.status, row.result, row.inputs
        state.attempts, state.execution_id = row.attempts, row.execution_id
        state.started_at, state.completed_at = row.started_at, row.completed_at
        state.duration_ms = row.duration_ms
        state.reused_from_id = row.reused_from_id or row.id
    return states

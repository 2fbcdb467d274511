"""One DAG run: PENDING → RUNNING → SUCCESS | FAILED | CANCELLED, as every run lives
(`runs/lifecycle.py`), its nodes run by `engine.dags.running.DagRunner`.

Node progress and the executions of program calls are stored with the next state of the run
written (behind, at most every progress interval, in bulk statements); the final state is written
with every node's before it is announced. A run stopped by a shutdown stays RUNNING and the next
process to sweep resumes it from its stored node states (`recovery.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.config import DagSettings
from dspex_gql.dags.events import DagRunChanged
from dspex_gql.dags.models import RunStatus
from dspex_gql.dags.plans import DagRunPlan, ProgramCall
from dspex_gql.dags.progress import RunTotals
from dspex_gql.dags.runs_repository import DagRunRepository, close_unfinished_nodes
from dspex_gql.dags.writing import (
    EXECUTIONS,
    NODE_EXECUTIONS,
    execution_row,
    executions_inserted,
    node_changes,
    nodes_changed,
)
from dspex_gql.db.base import utcnow
from dspex_gql.db.bulk import insert_many, update_many, upsert_many
from dspex_gql.db.repository import Recorded
from dspex_gql.engine.adapters.base import AdapterError, AdapterResult
from dspex_gql.engine.adapters.registry import NotRegistered
from dspex_gql.engine.dags.definition import NodeDefinition
from dspex_gql.engine.dags.running import CallFailed, DagRunner, NodeLimits
from dspex_gql.engine.dags.states import Call, CallStatus, NodeState
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.signatures import validate_inputs
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.orchestrator import SHUTDOWN_REASON
from dspex_gql.runs import Phase, RunFailed, RunJob, RunKind, Runs, StateChange

LANE = "dag"
"""The orchestrator lane of DAG runs (`DSPEX_DAG_MAX_RUNNING` at once)."""
QUOTA_USED_UP = "The organization's compute quota is used up"
CALL_EVENTS_AT_ONCE = 50
"""Publishing an event never waits: a write's thousand call events would hold the event loop
(and the run's own event, published before them, in the hub's outbox) for ~10 ms in one go."""

DAG_RUNS = RunKind(
    name="DAG run",
    repository=DagRunRepository,
    statuses={
        Phase.RUNNING: RunStatus.RUNNING,
        Phase.SUSPENDED: RunStatus.RUNNING,
        Phase.COMPLETED: RunStatus.SUCCESS,
        Phase.FAILED: RunStatus.FAILED,
        Phase.CANCELLED: RunStatus.CANCELLED,
    },
    event=DagRunChanged,
    ended=close_unfinished_nodes,
)


class DagRunJob(RunJob):
    kind = DAG_RUNS.name
    lane = LANE
    resumable = True
    event_type = DagRunChanged

    def __init__(
        self, runs: Runs, invoker: ProgramInvoker, plan: DagRunPlan, settings: DagSettings
    ) -> None:
        super().__init__(runs, plan.id, plan.sequence, plan.started_at)
        self.invoker = invoker
        self.plan = plan
        self.limits = NodeLimits(
            settings.max_parallel_nodes,
            settings.retry_backoff_seconds,
            settings.retry_backoff_max_seconds,
        )
        self.totals = RunTotals.of(plan.nodes.values())
        self._dirty_nodes: dict[str, int] = {}
        """Nodes changed since last stored, with their change count (`_changes_of`)."""
        self._changes_of: dict[str, int] = {}
        self._dirty_calls: dict[Any, Call] = {}
        self._calls_stored: set[Any] = set()
        self._calls_sent: set[Any] = set()
        """Calls whose rows a write carried, stored or not: a lost commit may have stored them."""
        self._uncounted_ms = 0
        self._quota_used_up = False
        self._writing: tuple[dict[str, int], dict[Any, int], int] | None = None
        self._call_events: list[dict[str, Any]] = []
        """The fields of the events of the calls the last write stored, announced after it."""
        self._reported = False
        """Whether a RUNNING state is staged already: node changes until its write need none."""
        self._run_id = str(plan.id)

    # -- the run ----------------------------------------------------------------------------------

    async def perform(self) -> dict[str, Any]:
        plan = self.plan
        runner = DagRunner(
            plan.definition,
            plan.context,
            plan.nodes,
            self._call_program,
            self,
            self.limits,
            suspends=lambda reason: reason == SHUTDOWN_REASON,
        )
        await runner.run()
        failed = [s.name for s in plan.nodes.values() if s.status is RunStatus.FAILED]
        if failed:
            raise RunFailed(f"{len(failed)} node(s) failed: {', '.join(failed[:10])}")
        return {"result": {name: plan.nodes[name].result for name in plan.sinks}}

    async def _call_program(self, node: NodeDefinition, call: Call) -> AdapterResult:
        target = self.plan.programs.get(node.program_id or "")
        if not isinstance(target, ProgramCall):
            raise CallFailed(target or f"program {node.program_id} cannot run")
        if self._quota_used_up:
            raise CallFailed(QUOTA_USED_UP)
        if problems := validate_inputs(target.request.signature, call.inputs):
            summary = "; ".join(p.message for p in problems)
            raise CallFailed(f"Input validation failed: {summary}")
        request = target.request.for_call(call.inputs, {"attempt": call.attempt})
        try:
            return await self.invoker(target.adapter, target.implementation, request)
        except (AdapterError, NotRegistered) as error:
            raise CallFailed(str(error)) from error

    # -- what the runner tells --------------------------------------------------------------------

    def node_changed(self, node: NodeState) -> None:
        self.totals.node_changed(node)
        changes = self._changes_of[node.name] = self._changes_of.get(node.name, 0) + 1
        self._dirty_nodes[node.name] = changes
        self.report()

    def call_changed(self, call: Call) -> None:
        self.totals.call_changed(call)
        if call.status is not CallStatus.RUNNING and call.duration_ms:
            self._uncounted_ms += call.duration_ms
        self._dirty_calls[call.id] = call
        self.report()

    def columns(self) -> dict[str, Any]:
        return self.totals.columns()

    def report_running(self) -> None:
        """A DAG run's status changes are written at once (without holding up its first nodes);
        only its nodes' progress waits for the write-behind window."""
        self._reported = True
        self.runs.reporter.report_now(self, self._change(Phase.RUNNING, {}))

    def report(self, **values: Any) -> None:
        """Stage the run's next state once per write: the write takes the changes made until
        then (thousands of node changes make a few states, not thousands)."""
        if values or not self._reported:
            self._reported = True
            super().report(**values)

    # -- storing ----------------------------------------------------------------------------------

    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        self._reported = False  # changes from now on go with the next state
        recorded = await self._record(session, change, {**change.values, **self.columns()})
        if recorded is None:
            return None
        if recorded.now:
            await self._store_progress(session, change.sequence)
        return recorded.row

    async def store_failure(self, session: AsyncSession, change: StateChange) -> Any | None:
        """The run's row, and its nodes not stored as finished closed with its error (SKIPPED,
        or CANCELLED if RUNNING): the nodes' progress is what the database refused."""
        recorded = await self._record(session, change, dict(change.values))
        if recorded is None:
            return None
        before = _RunAt(self.id, change.sequence - 1)
        await close_unfinished_nodes(session, before, reason=change.values["error"])
        return recorded.row

    async def _record(
        self, session: AsyncSession, change: StateChange, values: dict[str, Any]
    ) -> Recorded | None:
        """`change` with `values` on the run's row (and, when terminal, its duration)."""
        if change.phase.is_terminal and self.started_at is not None:
            ended = values.get("completed_at") or self.started_at
            values["duration_ms"] = round((ended - self.started_at).total_seconds() * 1000)
        plan = self.plan
        return await DAG_RUNS.record(
            session, plan, change.sequence, change.phase, values, plan.process_id
        )

    async def _store_progress(self, session: AsyncSession, sequence: int) -> None:
        plan, now = self.plan, utcnow()
        names = list(self._dirty_nodes)
        node_rows = [node_changes(plan.nodes[name]) for name in names]
        calls = [call for call in self._dirty_calls.values() if self._runs_program(call)]
        call_rows = [self._execution_row(call) for call in calls]
        self._writing = (
            {name: self._changes_of.get(name, 0) for name in names},
            {call.id: call.sequence for call in self._dirty_calls.values()},
            self._uncounted_ms,
        )
        await update_many(session, NODE_EXECUTIONS, node_rows, nodes_changed(sequence, now))
        sent, stored = self._calls_sent, self._calls_stored
        first = [row for row in call_rows if row["id"] not in sent]
        again = [row for row in call_rows if row["id"] in sent and row["id"] not in stored]
        changed = [_changes(row) for row in call_rows if row["id"] in stored]
        sent.update(row["id"] for row in first)
        inserted = executions_inserted(
            plan.organization_id, plan.process_id, plan.triggered_by, now
        )
        await insert_many(session, EXECUTIONS, first, inserted)
        await upsert_many(session, EXECUTIONS, again, inserted)  # if a lost commit stored them
        await update_many(session, EXECUTIONS, changed, {"updated_at": now})
        self._call_events = [_event_fields(row) for row in call_rows]
        if self._uncounted_ms:
            left = await OrganizationRepository(session).add_compute(
                plan.organization_id, self._uncounted_ms / 1000
            )
            self._quota_used_up = not left

    def stored(self, change: StateChange) -> None:
        """What the write carried is stored: unless changed meanwhile, it is clean."""
        if self._writing is None:
            return
        nodes, calls, counted_ms = self._writing
        self._writing = None
        self._uncounted_ms -= counted_ms
        for name, changes in nodes.items():
            if self._dirty_nodes.get(name) == changes:
                del self._dirty_nodes[name]
        for id, sequence in calls.items():
            self._calls_stored.add(id)
            call = self._dirty_calls.get(id)
            if call is not None and call.sequence == sequence:
                del self._dirty_calls[id]
        if (self._dirty_nodes or self._dirty_calls) and not change.phase.is_terminal:
            self.report()  # what changed while this state was written

    def _runs_program(self, call: Call) -> bool:
        """Calls of a program that could not run are not executions: only their node says why."""
        return isinstance(self.plan.programs.get(call.program_id), ProgramCall)

    async def announce(self, stored: Any) -> None:
        await super().announce(stored)
        fields, self._call_events = self._call_events, []
        for start in range(0, len(fields), CALL_EVENTS_AT_ONCE):
            await asyncio.sleep(0)  # the loop delivers what is published meanwhile: the run's first
            chunk = fields[start : start + CALL_EVENTS_AT_ONCE]
            await self.runs.announce_all([ExecutionChanged(**each) for each in chunk])

    def _execution_row(self, call: Call) -> dict[str, Any]:
        plan = self.plan
        target = plan.programs[call.program_id]
        assert isinstance(target, ProgramCall), "only runnable programs are called"
        return execution_row(
            call,
            program_id=target.program_id,
            node_execution_id=plan.nodes[call.node].id,
            run_id=self._run_id,
        )


_CREATED_ONCE = (
    "program_id",
    "node_execution_id",
    "inputs",
    "options",
    "created_at",
    "started_at",
)


class _RunAt(NamedTuple):
    """A run as `close_unfinished_nodes` reads it: its id and the sequence stored before."""

    id: UUID
    sequence: int


def _changes(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in _CREATED_ONCE}


def _event_fields(row: dict[str, Any]) -> dict[str, Any]:
    names = ("id", "program_id", "sequence", "status", "started_at", "completed_at")
    return {name: row[name] for name in names}

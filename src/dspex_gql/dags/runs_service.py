"""DAG run use cases: execute (validate, one insert, return at once), cancel, retry from the
failures, watch the run and its nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.accounts.quota import ComputeQuota
from dspex_gql.audit import recorder as audit
from dspex_gql.config import DagSettings
from dspex_gql.dags.events import DagRunChanged
from dspex_gql.dags.job import DAG_RUNS, DagRunJob
from dspex_gql.dags.models import Dag, DagRun, DagStatus, NodeExecution, RunStatus
from dspex_gql.dags.plans import (
    ProgramCall,
    definition_of,
    node_states,
    plan_of,
    program_calls,
    reused,
)
from dspex_gql.dags.programs import program_ids, signatures_of, visible_programs
from dspex_gql.dags.repository import DagRepository
from dspex_gql.dags.runs_repository import DagRunRepository, NodeExecutionRepository
from dspex_gql.dags.stored_definitions import stored_definition, stored_definition_problems
from dspex_gql.dags.writing import (
    NODE_EXECUTIONS,
    UNSTARTED,
    never_ran,
    node_row,
    nodes_inserted,
    unstarted_row,
)
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.planning import check_context
from dspex_gql.engine.dags.states import NodeState
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.errors import Conflict, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.ids import new_id
from dspex_gql.pubsub import Hub, channels
from dspex_gql.resource import ResourceService
from dspex_gql.runs import Runs
from dspex_gql.runs.runs import CANCELLED_BY_USER
from dspex_gql.runs.watching import follow
from dspex_gql.secrets_box import SecretBox

RETRYABLE = (RunStatus.FAILED, RunStatus.CANCELLED)


@dataclass(frozen=True)
class NodeBatch:
    """A run as stored, and its nodes changed after the previous batch (all, in the first)."""

    run: DagRun
    nodes: list[NodeExecution]

    @property
    def status(self) -> RunStatus:
        return self.run.status

    @property
    def sequence(self) -> int:
        return self.run.sequence


class DagRunService(ResourceService[DagRun, DagRunRepository]):
    repository = DagRunRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        runs: Runs,
        invoker: ProgramInvoker,
        hub: Hub,
        settings: DagSettings,
        secrets: SecretBox,
    ) -> None:
        super().__init__(uow, actor)
        self._runs = runs
        self._invoker = invoker
        self._hub = hub
        self._settings = settings
        self._secrets = secrets

    async def execute(self, dag_id: UUID, context: Any) -> DagRun:
        """A PENDING run of the DAG's current version, returned at once."""
        policies.ensure_can_run(self._actor, "run DAGs")
        context = {} if context is None else context
        if problems := validation.json_object(
            "context", context, max_bytes=self._settings.max_context_bytes
        ):
            raise ValidationFailed(problems)
        process_id = await self._runs.owner()
        async with self._runs.starting(self._uow, DAG_RUNS) as tx:
            dag, quota = await self._runnable_dag(tx, dag_id)
            definition = stored_definition(dag.id, dag.version, dag.definition)
            calls = await self._program_calls(tx, dag.id, dag.version, definition, context, quota)
            run = await self._insert(
                tx, dag, dag.version, context, process_id, len(definition.nodes)
            )
            await self._launch(tx, run, definition, calls, node_states(definition, []))
        return run

    async def retry(self, id: UUID) -> DagRun:
        """A new run of the same version and context that reuses the outputs of the nodes that
        succeeded and runs the rest."""
        policies.ensure_can_run(self._actor, "run DAGs")
        process_id = await self._runs.owner()
        async with self._runs.starting(self._uow, DAG_RUNS) as tx:
            previous = await self._repo(tx).require(id)
            if previous.status not in RETRYABLE:
                raise Conflict(
                    f"The DAG run is {previous.status.value}; only failed or cancelled runs "
                    "can be retried"
                )
            dag, quota = await self._runnable_dag(tx, previous.dag_id)
            definition = await definition_of(tx.session, previous)
            calls = await self._program_calls(
                tx, previous.dag_id, previous.dag_version, definition, previous.context, quota
            )
            nodes = await NodeExecutionRepository(tx.session, previous.organization_id).of_run(
                previous.id
            )
            run = await self._insert(
                tx,
                dag,
                previous.dag_version,
                previous.context,
                process_id,
                len(definition.nodes),
                previous,
            )
            await self._launch(tx, run, definition, calls, reused(definition, nodes))
        return run

    async def cancel(self, id: UUID) -> DagRun:
        """Cancel a run: whoever started it, or an admin."""
        run = await self.get(id)
        policies.ensure_can_change(self._actor, run, "DAG run")

        def record_in_audit_log(tx: UnitOfWork) -> None:
            changes = {"status": [run.status, RunStatus.CANCELLED]}
            audit.record(tx, self._actor, "dag.cancel", "DagRun", id, changes)

        await self._runs.cancel(
            self._uow, DAG_RUNS, run, CANCELLED_BY_USER, record_in_audit_log, by=self._actor
        )
        return await self.get(id)

    async def node_rows(
        self, keys: Iterable[tuple[UUID, tuple[str, ...]]]
    ) -> dict[tuple[UUID, tuple[str, ...]], list[Any]]:
        """For each (run id, columns): those columns of the run's nodes, in definition order."""
        runs_by_columns: dict[tuple[str, ...], list[UUID]] = {}
        for run_id, columns in keys:
            runs_by_columns.setdefault(columns, []).append(run_id)
        found: dict[tuple[UUID, tuple[str, ...]], list[Any]] = {}
        async with self._uow.read() as tx:
            nodes = NodeExecutionRepository(tx.session, self._actor.organization_id, self._actor)
            for columns, run_ids in runs_by_columns.items():
                for run_id, rows in (await nodes.rows_of_runs(run_ids, columns)).items():
                    found[run_id, columns] = rows
        return found

    async def watch(self, id: UUID) -> AsyncIterator[DagRun]:
        """The run now, then as it changes (at most `progress_messages_per_second`), until it
        ends; changes that come meanwhile coalesce into the next message."""
        async with self._hub.subscribe(channels.dag_run(id), DagRunChanged) as events:
            current = await self.get(id)
            async for run in follow(current, events, self._reread, self._interval):
                yield run

    async def watch_nodes(self, id: UUID) -> AsyncIterator[list[NodeExecution]]:
        """Every node of the run now, then the nodes changed since the previous message (at most
        `progress_messages_per_second` messages), until the run ends."""
        async with self._hub.subscribe(channels.dag_run(id), DagRunChanged) as events:
            first = await self._batch(id, after=0)
            async for batch in follow(first, events, self._next_batch, self._interval):
                if batch.nodes or batch is first:
                    yield batch.nodes

    @property
    def _interval(self) -> float:
        return 1 / self._settings.progress_messages_per_second

    async def _reread(self, _: DagRun, event: DagRunChanged) -> DagRun:
        return await self.get(event.id)

    async def _next_batch(self, previous: NodeBatch, _: DagRunChanged) -> NodeBatch:
        return await self._batch(previous.run.id, after=previous.sequence)

    async def _batch(self, id: UUID, after: int) -> NodeBatch:
        async with self._uow.read() as tx:
            run = await self._repo(tx).require(id)
            nodes = await NodeExecutionRepository(tx.session, run.organization_id).of_run(
                id, after_sequence=after
            )
        return NodeBatch(run, nodes)

    # -- starting ---------------------------------------------------------------------------------

    async def _runnable_dag(self, tx: UnitOfWork, dag_id: UUID) -> tuple[Dag, ComputeQuota]:
        dags = DagRepository(tx.session, self._actor.organization_id, self._actor)
        dag, quota = await dags.to_run(dag_id)
        if dag.status != DagStatus.ACTIVE:
            raise Conflict(f"The DAG is {dag.status.value}; only ACTIVE DAGs can run")
        return dag, quota

    async def _program_calls(
        self,
        tx: UnitOfWork,
        dag_id: UUID,
        version: int,
        definition: DagDefinition,
        context: Mapping[str, Any],
        quota: ComputeQuota,
    ) -> dict[str, ProgramCall | str]:
        """How to call each program, checked as the actor sees them now (programs change after
        a DAG is defined), with the context checked against what the entry nodes need."""
        wanted = sorted(program_ids(definition))
        found = await visible_programs(tx.session, self._actor, wanted)
        signatures = signatures_of(found, wanted)
        problems = stored_definition_problems(dag_id, version, definition, signatures)
        problems += check_context(definition, signatures, context)
        if problems:
            raise ValidationFailed(problems, message=_summary(problems))
        calls = await program_calls(tx.session, self._secrets, found, wanted)
        if refused := [why for why in calls.values() if isinstance(why, str)]:
            raise Conflict(f"The DAG cannot run: {'; '.join(refused)}")
        quota.ensure_left()
        return calls

    async def _insert(
        self,
        tx: UnitOfWork,
        dag: Dag,
        version: int,
        context: dict[str, Any],
        process_id: UUID,
        total_nodes: int,
        retry_of: DagRun | None = None,
    ) -> DagRun:
        run = DagRun(
            id=new_id(),
            dag_id=dag.id,
            dag_version=version,
            status=RunStatus.PENDING,
            sequence=1,
            context=context,
            retry_count=0 if retry_of is None else retry_of.retry_count + 1,
            retry_of_id=None if retry_of is None else retry_of.id,
            total_nodes=total_nodes,
            process_id=process_id,
        )
        self._repo(tx).insert_at_commit(tx, run, created_by=self._actor.user_id)
        action, changes = "dag.execute", _started(dag, run)
        if retry_of is not None:
            action, changes = "dag.retry", changes | {"retryOf": retry_of.id}
        audit.record(tx, self._actor, action, "DagRun", run.id, changes)
        return run

    async def _launch(
        self,
        tx: UnitOfWork,
        run: DagRun,
        definition: DagDefinition,
        calls: Mapping[str, ProgramCall | str],
        nodes: dict[str, NodeState],
    ) -> None:
        """Insert the run's nodes as they start (PENDING, or reused) with the run, and run it
        after commit."""
        same = nodes_inserted(run.organization_id, run.id, run.sequence, run.created_at)
        unstarted, reused = [], []
        for node in nodes.values():
            if never_ran(node):
                unstarted.append(unstarted_row(node))
            else:
                reused.append(node_row(node))
        tx.insert_all_at_commit(NODE_EXECUTIONS, unstarted, same | UNSTARTED)
        tx.insert_all_at_commit(NODE_EXECUTIONS, reused, same)
        plan = plan_of(run, definition, calls, nodes)
        job = DagRunJob(self._runs, self._invoker, plan, self._settings)
        await self._runs.launch(tx, job, DagRunChanged.of(run))


def _started(dag: Dag, run: DagRun) -> dict[str, Any]:
    return {"dagId": dag.id, "version": run.dag_version, "context": sorted(run.context)}


def _summary(problems: list[Any]) -> str:
    shown = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"The DAG cannot run: {shown}{more}"

"""Execution use cases: start (validate, one insert, return at once), wait, cancel, watch."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.accounts.quota import ComputeQuota
from dspex_gql.audit import recorder as audit
from dspex_gql.config import ExecutionSettings
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.signatures import validate_inputs
from dspex_gql.engine.variables import validate_configuration
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.job import EXECUTIONS, ExecutionJob
from dspex_gql.executions.models import Execution, ExecutionStatus
from dspex_gql.executions.plans import language_models_of, plan_of
from dspex_gql.executions.repository import ExecutionRepository, ExecutionStats
from dspex_gql.identity import Actor
from dspex_gql.ids import new_id
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.pubsub import Hub, channels
from dspex_gql.resource import ResourceService
from dspex_gql.runs import Runs
from dspex_gql.runs.runs import CANCELLED_BY_USER
from dspex_gql.runs.watching import follow, until_ended
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.stored import engine_signature
from dspex_gql.variable_spaces.repository import VariableSpaceRepository
from dspex_gql.variable_spaces.stored import stored_space


@dataclass(frozen=True)
class StartExecution:
    program_id: UUID
    inputs: Any
    variable_configuration: Any = None
    options: Any = None
    wait: bool = False
    timeout_ms: int | None = None


class ExecutionService(ResourceService[Execution, ExecutionRepository]):
    repository = ExecutionRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        runs: Runs,
        invoker: ProgramInvoker,
        hub: Hub,
        settings: ExecutionSettings,
        secrets: SecretBox,
    ) -> None:
        super().__init__(uow, actor)
        self._runs = runs
        self._invoker = invoker
        self._hub = hub
        self._settings = settings
        self._secrets = secrets

    async def stats(self, program_ids: Iterable[UUID]) -> dict[UUID, ExecutionStats]:
        """Figures per program, for programs the actor reads: no read filter of their own."""
        wanted = list(program_ids)
        async with self._uow.read() as tx:
            found = await ExecutionRepository(tx.session, self._actor.organization_id).stats(wanted)
        return {id: found.get(id, ExecutionStats()) for id in wanted}

    async def start(self, start: StartExecution) -> Execution:
        policies.ensure_can_create(self._actor, "executions")
        self._check_shape(start)
        seconds = self._wait_seconds(start.timeout_ms)
        if not start.wait:
            return await self._start(start, new_id())
        if not self._runs.queued(EXECUTIONS.name):
            execution = await self._start(start, new_id())
            await self._runs.wait(EXECUTIONS.key(execution.id), seconds)
            return await self.get(execution.id)
        id = new_id()  # a worker runs it: its end is told by its event, awaited from before
        async with self._hub.subscribe(channels.execution(id), ExecutionChanged) as events:
            await self._start(start, id)
            await until_ended(events, seconds)
        return await self.get(id)

    async def _start(self, start: StartExecution, id: UUID) -> Execution:
        process_id = await self._runs.owner()
        async with self._runs.starting(self._uow, EXECUTIONS) as tx:
            program, signature, quota = await self._runnable(tx, start.program_id)
            _check_inputs(signature, start.inputs)
            await self._check_variables(tx, program, start.variable_configuration)
            variables = start.variable_configuration
            models = await language_models_of(tx.session, program, variables, self._secrets)
            quota.ensure_left()
            execution = Execution(
                id=id,
                program_id=program.id,
                status=ExecutionStatus.PENDING,
                sequence=1,
                inputs=start.inputs,
                variable_configuration=start.variable_configuration,
                options=start.options,
                meta={},
                process_id=process_id,
            )
            self._repo(tx).insert_at_commit(tx, execution, created_by=self._actor.user_id)
            changes = {"programId": program.id, "inputs": sorted(start.inputs)}
            audit.record(tx, self._actor, "execution.start", "Execution", execution.id, changes)
            plan = plan_of(execution, program, signature, process_id, models)
            job = ExecutionJob(self._runs, self._invoker, plan)
            await self._runs.launch(tx, job, ExecutionChanged.of(execution))
        return execution

    async def cancel(self, id: UUID) -> Execution:
        """Cancel a run: its owner (who triggered it) or an admin."""
        execution = await self.get(id)
        policies.ensure_can_change(self._actor, execution, "execution")
        if execution.node_execution_id is not None and not execution.status.is_terminal:
            raise Conflict("This execution belongs to a DAG run; cancel the DAG run instead")

        def record_in_audit_log(tx: UnitOfWork) -> None:
            changes = {"status": [execution.status, ExecutionStatus.CANCELLED]}
            audit.record(tx, self._actor, "execution.cancel", "Execution", id, changes)

        await self._runs.cancel(
            self._uow, EXECUTIONS, execution, CANCELLED_BY_USER, record_in_audit_log, by=self._actor
        )
        return await self.get(id)

    async def watch(self, id: UUID) -> AsyncIterator[Execution]:
        """The execution now, then after each change, until it finishes."""
        async with self._hub.subscribe(channels.execution(id), ExecutionChanged) as events:
            current = await self.get(id)
            async for execution in follow(current, events, self._advance):
                yield execution

    async def watch_program(self, program_id: UUID) -> AsyncIterator[Execution]:
        """Unfinished executions of the program now, then every change of any of its executions."""
        channel = channels.program_executions(program_id)
        async with self._hub.subscribe(channel, ExecutionChanged) as events:
            live = await self._unfinished_of(program_id)
            seen = SequenceMemory()
            for execution in live.values():
                seen.remember(execution)
                yield execution
            async for event in events:
                if event.sequence <= seen.last(event.id):
                    continue
                current = await self._advance(live.pop(event.id, None), event)
                seen.remember(current)
                if not current.status.is_terminal:
                    live[current.id] = current
                yield current

    async def _advance(self, current: Execution | None, event: ExecutionChanged) -> Execution:
        """Apply a small event; results live in the store, which is never behind an event."""
        if current is None or event.status.is_terminal:
            return await self.get(event.id)
        current.sequence, current.status = event.sequence, event.status
        current.started_at = event.started_at or current.started_at
        return current

    def _programs(self, tx: UnitOfWork) -> ProgramRepository:
        return ProgramRepository(tx.session, self._actor.organization_id, self._actor)

    async def _unfinished_of(self, program_id: UUID) -> dict[UUID, Execution]:
        async with self._uow.read() as tx:
            await self._programs(tx).require(program_id)
            return await self._repo(tx).unfinished_of(program_id)

    async def _runnable(
        self, tx: UnitOfWork, program_id: UUID
    ) -> tuple[Program, Signature, ComputeQuota]:
        program, signature, quota = await self._programs(tx).to_run(program_id)
        if program.status not in (ProgramStatus.READY, ProgramStatus.OPTIMIZING):
            raise Conflict(
                f"The program is {program.status.value}; only READY programs can be executed"
            )
        return program, signature, quota

    async def _check_variables(self, tx: UnitOfWork, program: Program, given: Any) -> None:
        """A variable configuration must fit the program's variable space, when it has one."""
        if given is None or program.variable_space_id is None:
            return
        space = await VariableSpaceRepository(tx.session, program.organization_id).get(
            program.variable_space_id
        )
        assert space is not None, "programs.variable_space_id is a foreign key"
        problems = validate_configuration(stored_space(space.variables, space.dependencies), given)
        if problems:
            raise ValidationFailed(
                FieldProblem(
                    p.field.replace("configuration", "variableConfiguration", 1), p.message, p.code
                )
                for p in problems
            )

    def _check_shape(self, start: StartExecution) -> None:
        limit = self._settings.max_input_bytes
        problems = validation.json_object("inputs", start.inputs, max_bytes=limit)
        for name, value in (
            ("variableConfiguration", start.variable_configuration),
            ("options", start.options),
        ):
            if value is not None:
                problems += validation.json_object(name, value, max_bytes=limit)
        if start.timeout_ms is not None and start.timeout_ms < 0:
            problems.append(FieldProblem("timeoutMs", "must be 0 or more", "out_of_range"))
        if problems:
            raise ValidationFailed(problems)

    def _wait_seconds(self, timeout_ms: int | None) -> float:
        ceiling = self._settings.max_wait_ms
        return min(ceiling if timeout_ms is None else timeout_ms, ceiling) / 1000


class SequenceMemory:
    """The last sequence yielded per execution, for the most recent `capacity` executions."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._sequences: OrderedDict[UUID, int] = OrderedDict()

    def last(self, id: UUID) -> int:
        return self._sequences.get(id, 0)

    def remember(self, execution: Execution) -> None:
        self._sequences[execution.id] = execution.sequence
        self._sequences.move_to_end(execution.id)
        if len(self._sequences) > self._capacity:
            self._sequences.popitem(last=False)


def _check_inputs(signature: Signature, inputs: dict[str, Any]) -> None:
    problems = validate_inputs(engine_signature(signature), inputs)
    if problems:
        summary = "; ".join(p.message for p in problems)
        raise ValidationFailed(problems, message=f"Input validation failed: {summary}")

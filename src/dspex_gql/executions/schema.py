from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.executions import models
from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.executions.service import StartExecution
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from dspex_gql.graphql.filters import (
    DateTimeFilter,
    EnumFilter,
    IDFilter,
    IntFilter,
    Order,
    filter_field,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.lookups import Lookup
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.programs.schema import Program

strawberry.enum(ExecutionStatus)


PROGRAM = Lookup("program", "program_id", Program.of)


@strawberry.type
class Execution:
    id: strawberry.ID
    status: ExecutionStatus
    sequence: int = strawberry.field(description="Grows with every state change.")
    inputs: JSON
    outputs: JSON | None
    error: str | None
    variable_configuration: JSON | None
    options: JSON | None
    duration_ms: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    metadata: JSON
    trace: JSON | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    program_id: strawberry.Private[UUID]
    created_by: strawberry.Private[UUID | None]

    @strawberry.field(metadata=PROGRAM.metadata)
    async def program(self, info: Info) -> Program:
        found: Program = await PROGRAM.resolve(self, info)
        return found

    @strawberry.field
    async def triggered_by(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @classmethod
    def of(cls, execution: models.Execution) -> Execution:
        return cls(
            id=strawberry.ID(str(execution.id)),
            status=execution.status,
            sequence=execution.sequence,
            inputs=JSON(execution.inputs),
            outputs=JSON(execution.outputs),
            error=execution.error,
            variable_configuration=JSON(execution.variable_configuration),
            options=JSON(execution.options),
            duration_ms=execution.duration_ms,
            prompt_tokens=execution.prompt_tokens,
            completion_tokens=execution.completion_tokens,
            cost=execution.cost,
            metadata=JSON(execution.meta),
            trace=JSON(execution.trace),
            created_at=execution.created_at,
            started_at=execution.started_at,
            completed_at=execution.completed_at,
            program_id=execution.program_id,
            created_by=execution.created_by,
        )


@strawberry.input(name="ExecutionStatusFilter")
class ExecutionStatusFilter(EnumFilter[ExecutionStatus]):
    pass


@strawberry.input
class ExecutionFilter:
    and_: list[ExecutionFilter] | None = filter_field("and")
    or_: list[ExecutionFilter] | None = filter_field("or")
    not_: ExecutionFilter | None = filter_field("not")
    status: ExecutionStatusFilter | None = filter_field()
    program_id: IDFilter | None = filter_field()
    node_execution_id: IDFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    completed_at: DateTimeFilter | None = filter_field()
    duration_ms: IntFilter | None = filter_field()


@strawberry.enum
class ExecutionOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    COMPLETED_AT = "COMPLETED_AT"
    DURATION_MS = "DURATION_MS"


@strawberry.input(name="ExecutionOrder")
class ExecutionOrder(Order[ExecutionOrderField]):
    pass


@strawberry.input
class ExecuteProgramInput:
    program_id: strawberry.ID
    inputs: JSON
    variable_configuration: JSON | None = strawberry.field(
        default=None, description="Merged over the program's configuration for this execution."
    )
    options: JSON | None = None
    wait: bool = strawberry.field(
        default=False, description="Return the finished execution (bounded by timeoutMs)."
    )
    timeout_ms: int | None = strawberry.field(
        default=None, description="How long `wait` waits; the execution keeps running after it."
    )

    def to_start(self) -> StartExecution:
        return StartExecution(
            program_id=to_uuid(self.program_id, "Program"),
            inputs=self.inputs,
            variable_configuration=self.variable_configuration,
            options=self.options,
            wait=self.wait,
            timeout_ms=self.timeout_ms,
        )


ExecuteProgramResult = Annotated[
    Execution
    | ValidationError
    | NotFoundError
    | ConflictError
    | ForbiddenError
    | QuotaExceededError,
    strawberry.union("ExecuteProgramResult"),
]
CancelExecutionResult = Annotated[
    Execution | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CancelExecutionResult"),
]


@strawberry.type
class ExecutionQuery:
    execution = field_by_id(Execution, lambda services: services.executions)
    executions = list_field(
        Execution, ExecutionFilter, ExecutionOrder, lambda services: services.executions
    )


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation(description="Returns a PENDING execution at once, unless `wait` is set.")
    async def execute_program(self, info: Info, input: ExecuteProgramInput) -> ExecuteProgramResult:
        return Execution.of(await info.context.services.executions.start(input.to_start()))

    @strawberry.mutation
    async def cancel_execution(self, info: Info, id: strawberry.ID) -> CancelExecutionResult:
        return Execution.of(await info.context.services.executions.cancel(to_uuid(id, "Execution")))


@strawberry.type
class ExecutionSubscription:
    @strawberry.subscription(description="Now, then each change; completes once it has finished.")
    async def execution_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[Execution, None]:
        async for execution in info.context.services.executions.watch(to_uuid(id, "Execution")):
            yield Execution.of(execution)

    @strawberry.subscription(description="Unfinished executions now, then every change of any.")
    async def program_executions(
        self, info: Info, program_id: strawberry.ID
    ) -> AsyncGenerator[Execution, None]:
        service = info.context.services.executions
        async for execution in service.watch_program(to_uuid(program_id, "Program")):
            yield Execution.of(execution)

"""What an execution runs, built from stored rows: by the service when the execution is created,
and again by whichever process runs it later (a worker of the job queue), which has only its id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.engine.adapters.base import AdapterRequest
from dspex_gql.engine.language_models import LM_ADAPTER, LM_KEY, LanguageModelSpec, named_models
from dspex_gql.executions.job import ExecutionPlan
from dspex_gql.executions.models import Execution
from dspex_gql.language_models.specs import require_language_models
from dspex_gql.programs.models import Program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.repository import SignatureRepository
from dspex_gql.signatures.stored import engine_signature


async def language_models_of(
    session: AsyncSession, program: Program, variables: Any, secrets: SecretBox
) -> dict[str, LanguageModelSpec]:
    """The language model a `dspy` program's configuration names (the execution's variable
    configuration may name another), or ValidationFailed when the organization has none."""
    if program.adapter != LM_ADAPTER:
        return {}
    names = named_models({**program.configuration, **(variables or {})})
    field = "variableConfiguration.lm" if LM_KEY in (variables or {}) else "programId"
    return await require_language_models(session, program.organization_id, names, secrets, field)


def plan_of(
    execution: Execution,
    program: Program,
    signature: Signature,
    process_id: UUID,
    language_models: dict[str, LanguageModelSpec],
) -> ExecutionPlan:
    request = AdapterRequest(
        program_type=program.type,
        signature=engine_signature(signature),
        instructions=signature.instructions,
        inputs=execution.inputs,
        configuration={**program.configuration, **(execution.variable_configuration or {})},
        options=execution.options or {},
        language_models=language_models,
        state=program.compiled_state,
    )
    return ExecutionPlan(
        id=execution.id,
        organization_id=execution.organization_id,
        program_id=program.id,
        process_id=process_id,
        adapter=program.adapter,
        implementation=program.implementation,
        request=request,
    )


async def load_plan(
    session: AsyncSession, secrets: SecretBox, execution: Execution, process_id: UUID
) -> ExecutionPlan:
    """For an execution run by the system (no actor): its program and signature as stored now."""
    organization_id = execution.organization_id
    program = await ProgramRepository(session, organization_id).require(execution.program_id)
    signature = await SignatureRepository(session, organization_id).require(program.signature_id)
    variables = execution.variable_configuration
    models = await language_models_of(session, program, variables, secrets)
    return plan_of(execution, program, signature, process_id, models)

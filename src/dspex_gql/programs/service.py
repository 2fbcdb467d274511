"""Program use cases: create, update, initialize, clone, archive, metrics, stats."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.audit import recorder as audit
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.adapters.dspy import export_state, state_problems
from dspex_gql.engine.adapters.dspy.loader import DspyUnavailable, load_dspy
from dspex_gql.engine.adapters.dspy.modules import ModuleProblem
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.invoke import RunsImplementations
from dspex_gql.engine.language_models import LM_ADAPTER, named_models
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.language_models.repository import LanguageModelRepository
from dspex_gql.policies import Visibility
from dspex_gql.programs.initialization import InitializationJob, InitializationPlan
from dspex_gql.programs.models import Program, ProgramStatus, derived_program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.resource import ResourceService
from dspex_gql.runs import Runs
from dspex_gql.signatures.models import Signature, SignatureStatus
from dspex_gql.signatures.repository import SignatureRepository
from dspex_gql.signatures.specs import find_or_create_for_spec
from dspex_gql.signatures.stored import engine_signature
from dspex_gql.unset import UNSET, Maybe
from dspex_gql.variable_spaces.repository import VariableSpaceRepository

MAX_CONFIGURATION_BYTES = 65_536
MAX_STATE_BYTES = 1_048_576
INITIALIZE_WAIT_SECONDS = 30.0
FROZEN = {ProgramStatus.INITIALIZING: "initializing", ProgramStatus.OPTIMIZING: "being optimized"}


@dataclass(frozen=True)
class NewProgram:
    name: str
    type: ProgramType
    signature_id: UUID | None = None
    signature_spec: str | None = None
    description: str | None = None
    adapter: str = "mock"
    implementation: str | None = None
    configuration: Any = field(default_factory=dict)
    tags: Sequence[str] = ()
    visibility: Visibility = Visibility.PRIVATE
    variable_space_id: UUID | None = None
    initialize: bool = False
    compiled_state: Any = None
    """DSPy's JSON state to start from (`importProgram`), checked against the module."""


@dataclass(frozen=True)
class ProgramExport:
    program: Program
    state: dict[str, Any]
    """What `module.save("x.json")` writes: `module.load("x.json")` reads it back."""
    dspy_version: str


@dataclass(frozen=True)
class ProgramChanges:
    name: Maybe[str] = UNSET
    description: Maybe[str | None] = UNSET
    type: Maybe[ProgramType] = UNSET
    adapter: Maybe[str] = UNSET
    implementation: Maybe[str | None] = UNSET
    configuration: Maybe[Any] = UNSET
    signature_id: Maybe[UUID] = UNSET
    signature_spec: Maybe[str] = UNSET
    tags: Maybe[Sequence[str]] = UNSET
    visibility: Maybe[Visibility] = UNSET
    variable_space_id: Maybe[UUID | None] = UNSET

    def touches_runtime(self) -> bool:
        """Changes after which the program must be initialized again."""
        runtime = (self.type, self.adapter, self.implementation, self.configuration)
        signature = (self.signature_id, self.signature_spec)
        return any(value is not UNSET for value in runtime + signature)


class ProgramService(ResourceService[Program, ProgramRepository]):
    repository = ProgramRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        runs: Runs,
        adapters: AdapterRegistry,
        custom_programs: CustomProgramRegistry,
    ) -> None:
        super().__init__(uow, actor)
        self._runs = runs
        self._adapters = adapters
        self._custom_programs = custom_programs

    async def children(self, ids: Iterable[UUID]) -> dict[UUID, list[Program]]:
        async with self._uow.read() as tx:
            return await self._repo(tx).children(ids)

    async def create(self, new: NewProgram) -> Program:
        policies.ensure_can_create(self._actor, "programs")
        self._check(_new_problems(new), new.type, new.adapter, new.implementation)
        if new.compiled_state is not None:
            await dspy_or_conflict()
        async with self._uow() as tx:
            space_id = await self._space_id(tx, new.variable_space_id)
            signature = await self._signature(
                tx, new.signature_id, new.signature_spec, new.visibility
            )
            if new.compiled_state is not None:
                _raise_if(await _state_problems(new, signature))
            program = Program(
                name=new.name.strip(),
                description=new.description,
                type=new.type,
                adapter=new.adapter,
                implementation=new.implementation,
                status=ProgramStatus.DRAFT,
                signature_id=signature.id,
                configuration=new.configuration,
                compiled_state=new.compiled_state,
                version=1,
                performance_metrics={},
                tags=list(new.tags),
                visibility=new.visibility,
                variable_space_id=space_id,
            )
            self._repo(tx).add(program, created_by=self._actor.user_id)
            await tx.session.flush()
            audit.record(
                tx, self._actor, "program.create", "Program", program.id, _created(program)
            )
        return await self.initialize(program.id) if new.initialize else program

    async def update(self, id: UUID, changes: ProgramChanges) -> Program:
        async with self._uow() as tx:
            program = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, program, "program")
            _check_changeable(program, runtime=changes.touches_runtime())
            self._check(
                _change_problems(changes),
                _pick(changes.type, program.type),
                _pick(changes.adapter, program.adapter),
                _pick(changes.implementation, program.implementation),
            )
            runtime = _runtime(program)
            if changes.signature_id is not UNSET or changes.signature_spec is not UNSET:
                signature = await self._signature(
                    tx,
                    _pick(changes.signature_id, None),
                    _pick(changes.signature_spec, None),
                    _pick(changes.visibility, program.visibility),
                )
                program.signature_id = signature.id
            _apply(program, changes)
            if changes.variable_space_id is not UNSET:
                program.variable_space_id = await self._space_id(tx, changes.variable_space_id)
            if _runtime(program) != runtime:
                program.status, program.error_message = ProgramStatus.DRAFT, None
            given = {k: v for k, v in vars(changes).items() if v is not UNSET}
            audit.record(tx, self._actor, "program.update", "Program", id, given)
            return program

    async def initialize(self, id: UUID) -> Program:
        process_id = await self._runs.owner()
        async with self._uow() as tx:
            program = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, program, "program")
            if program.status not in (
                ProgramStatus.DRAFT,
                ProgramStatus.ERROR,
                ProgramStatus.READY,
            ):
                raise Conflict(f"A program that is {program.status.value} cannot be initialized")
            signature = await SignatureRepository(tx.session, program.organization_id).get(
                program.signature_id
            )
            changes = {"status": [program.status, ProgramStatus.INITIALIZING]}
            program.status, program.error_message = ProgramStatus.INITIALIZING, None
            program.process_id = process_id
            audit.record(tx, self._actor, "program.initialize", "Program", id, changes)
            missing = await self._missing_models(tx, program)
            job = self._initialization(program, signature, missing)
            await self._runs.launch(tx, job)
        await self._runs.wait(job.key, INITIALIZE_WAIT_SECONDS)
        return await self.get(id)

    async def export(self, id: UUID) -> ProgramExport:
        """The program as a DSPy module's JSON state, as a notebook would save it."""
        async with self._uow.read() as tx:
            program = await self._repo(tx).require(id)
            signature = await SignatureRepository(tx.session, program.organization_id).require(
                program.signature_id
            )
        dspy = await dspy_or_conflict()
        try:
            state = await asyncio.to_thread(
                export_state,
                program.type,
                engine_signature(signature),
                signature.instructions,
                configuration=program.configuration,
                state=program.compiled_state,
                implementation=_dspy_implementation(program.adapter, program.implementation),
                for_file=True,
            )
        except ModuleProblem as problem:
            raise Conflict(f"The program cannot be exported as a DSPy module: {problem}") from None
        return ProgramExport(program, state, str(dspy.__version__))

    async def clone(self, id: UUID, name: str) -> Program:
        policies.ensure_can_create(self._actor, "programs")
        _raise_if(validation.text("name", name, max_length=200, required=True))
        async with self._uow() as tx:
            source = await self._repo(tx).require(id)
            clone = derived_program(source, name=name, configuration=dict(source.configuration))
            self._repo(tx).add(clone, created_by=self._actor.user_id)
            await tx.session.flush()
            changes = _created(clone) | {"parentId": source.id}
            audit.record(tx, self._actor, "program.clone", "Program", clone.id, changes)
            return clone

    async def archive(self, id: UUID) -> Program:
        async with self._uow() as tx:
            program = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, program, "program")
            _check_changeable(program, runtime=True)
            changes = {"status": [program.status, ProgramStatus.ARCHIVED]}
            program.status = ProgramStatus.ARCHIVED
            audit.record(tx, self._actor, "program.archive", "Program", id, changes)
            return program

    async def update_metrics(self, id: UUID, metrics: Any) -> Program:
        """Merge `metrics` into the program's performance metrics; a null value removes a key."""
        _raise_if(validation.json_object("metrics", metrics, max_bytes=MAX_CONFIGURATION_BYTES))
        async with self._uow() as tx:
            program = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, program, "program")
            _check_changeable(program, runtime=False)
            merged = {**program.performance_metrics, **metrics}
            program.performance_metrics = {k: v for k, v in merged.items() if v is not None}
            changes = {"metrics": metrics}
            audit.record(tx, self._actor, "program.updateMetrics", "Program", id, changes)
            return program

    def _check(
        self,
        problems: list[FieldProblem],
        type: ProgramType,
        adapter: str,
        implementation: str | None,
    ) -> None:
        problems = problems + self._runtime_problems(type, adapter, implementation)
        _raise_if(problems)

    def _runtime_problems(
        self, type: ProgramType, adapter: str, implementation: str | None
    ) -> list[FieldProblem]:
        problems: list[FieldProblem] = []
        if adapter not in self._adapters:
            available = ", ".join(self._adapters.names())
            problems.append(
                FieldProblem(
                    "adapter", f"unknown adapter '{adapter}'; available: {available}", "unknown"
                )
            )
        implementations = self._implementations(adapter)
        if type == ProgramType.CUSTOM and implementation not in implementations:
            available = ", ".join(sorted(implementations)) or "none"
            message = f"CUSTOM programs name a registered implementation; available: {available}"
            problems.append(FieldProblem("implementation", message, "unknown"))
        if type != ProgramType.CUSTOM and implementation is not None:
            problems.append(
                FieldProblem(
                    "implementation", "only CUSTOM programs name an implementation", "invalid"
                )
            )
        return problems

    def _implementations(self, adapter: str) -> set[str]:
        """What a CUSTOM program on `adapter` may name: the registered programs, and the
        adapter's own modules (the dspy adapter's `dspy.Module`s)."""
        names = set(self._custom_programs.names())
        if adapter in self._adapters:
            own = self._adapters.get(adapter)
            if isinstance(own, RunsImplementations):
                names |= set(own.implementation_names())
        return names

    async def _space_id(self, tx: UnitOfWork, id: UUID | None) -> UUID | None:
        """A variable space the actor can read, or NotFound."""
        if id is None:
            return None
        repo = VariableSpaceRepository(tx.session, self._actor.organization_id, self._actor)
        return (await repo.require(id)).id

    async def _signature(
        self,
        tx: UnitOfWork,
        signature_id: UUID | None,
        signature_spec: str | None,
        visibility: Visibility,
    ) -> Signature:
        repo = SignatureRepository(tx.session, self._actor.organization_id, self._actor)
        if (signature_id is None) == (signature_spec is None):
            raise ValidationFailed.single(
                "signatureId", "give either signatureId or signatureSpec", "required"
            )
        if signature_spec is not None:
            return await find_or_create_for_spec(tx, repo, signature_spec, self._actor, visibility)
        assert signature_id is not None
        signature = await repo.require(signature_id)
        if signature.status == SignatureStatus.DEPRECATED:
            raise ValidationFailed.single(
                "signatureId",
                "this signature is deprecated; use a draft or active one",
                "deprecated",
            )
        return signature

    async def _missing_models(self, tx: UnitOfWork, program: Program) -> tuple[str, ...]:
        """The language models a `dspy` program names that the actor cannot read."""
        if program.adapter != LM_ADAPTER:
            return ()
        names = named_models(program.configuration)
        repo = LanguageModelRepository(tx.session, self._actor.organization_id, self._actor)
        found = {model.name for model in await repo.named(names)} if names else set()
        return tuple(sorted(names - found))

    def _initialization(
        self, program: Program, signature: Signature | None, missing_models: tuple[str, ...]
    ) -> InitializationJob:
        assert program.process_id is not None, "set with INITIALIZING"
        plan = InitializationPlan(
            program_id=program.id,
            organization_id=program.organization_id,
            process_id=program.process_id,
            type=program.type,
            adapter=program.adapter,
            implementation=program.implementation,
            configuration=dict(program.configuration),
            signature_status=signature.status if signature else SignatureStatus.DEPRECATED,
            signature=engine_signature(signature) if signature else None,
            instructions=signature.instructions if signature else None,
            state=program.compiled_state,
            missing_models=missing_models,
        )
        return InitializationJob(self._runs, plan, self._adapters, self._custom_programs)


async def dspy_or_conflict() -> Any:
    """The `dspy` module, imported off the event loop the first time; Conflict without it."""
    try:
        return await load_dspy()
    except DspyUnavailable as missing:
        raise Conflict(str(missing)) from None


async def _state_problems(new: NewProgram, signature: Signature) -> list[FieldProblem]:
    problems = await asyncio.to_thread(
        state_problems,
        new.compiled_state,
        new.type,
        engine_signature(signature),
        implementation=_dspy_implementation(new.adapter, new.implementation),
    )
    if not problems:
        return []
    return [FieldProblem("state", "; ".join(problems), "invalid")]


def _dspy_implementation(adapter: str, implementation: str | None) -> str | None:
    """The registered `dspy.Module` a CUSTOM program names; other adapters' implementations
    are not DSPy modules."""
    return implementation if adapter == LM_ADAPTER else None


def _new_problems(new: NewProgram) -> list[FieldProblem]:
    state_shape = (
        []
        if new.compiled_state is None
        else validation.json_object("state", new.compiled_state, max_bytes=MAX_STATE_BYTES)
    )
    return [
        *state_shape,
        *validation.text("name", new.name, max_length=200, required=True),
        *validation.text("description", new.description, max_length=10_000),
        *validation.json_object(
            "configuration", new.configuration, max_bytes=MAX_CONFIGURATION_BYTES
        ),
        *validation.tags("tags", list(new.tags)),
    ]


NOT_NULL = ("type", "adapter", "visibility", "tags")


def _change_problems(changes: ProgramChanges) -> list[FieldProblem]:
    problems = [
        FieldProblem(name, "must not be null", "required")
        for name in NOT_NULL
        if getattr(changes, name) is None
    ]
    if changes.name is not UNSET:
        problems += validation.text("name", changes.name, max_length=200, required=True)
    if changes.description is not UNSET:
        problems += validation.text("description", changes.description, max_length=10_000)
    if changes.configuration is not UNSET:
        problems += validation.json_object(
            "configuration", changes.configuration, max_bytes=MAX_CONFIGURATION_BYTES
        )
    if changes.tags is not UNSET and changes.tags is not None:
        problems += validation.tags("tags", list(changes.tags))
    return problems


def _created(program: Program) -> dict[str, Any]:
    return {
        "name": program.name,
        "type": program.type,
        "adapter": program.adapter,
        "implementation": program.implementation,
        "signatureId": program.signature_id,
        "configuration": program.configuration,
        "tags": program.tags,
        "visibility": program.visibility,
        "variableSpaceId": program.variable_space_id,
    }


def _runtime(program: Program) -> tuple[Any, ...]:
    """What a program runs with; when it changes, the program must be initialized again."""
    return (
        program.type,
        program.adapter,
        program.implementation,
        program.configuration,
        program.signature_id,
    )


def _apply(program: Program, changes: ProgramChanges) -> None:
    for name in ("description", "type", "adapter", "implementation", "configuration", "visibility"):
        value = getattr(changes, name)
        if value is not UNSET:
            setattr(program, name, value)
    if changes.name is not UNSET:
        program.name = changes.name.strip()
    if changes.tags is not UNSET:
        program.tags = list(changes.tags)


def _check_changeable(program: Program, *, runtime: bool) -> None:
    if program.status == ProgramStatus.ARCHIVED:
        raise Conflict("Archived programs cannot be changed")
    if runtime and program.status in FROZEN:
        raise Conflict(f"The program is {FROZEN[program.status]}; try again when it is done")


def _pick(value: Maybe[Any], default: Any) -> Any:
    return default if value is UNSET else value


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)

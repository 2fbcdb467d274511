"""Signature use cases: create from a spec or explicit fields, update, lifecycle, delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.audit import recorder as audit
from dspex_gql.engine import signatures as engine
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.policies import Visibility
from dspex_gql.resource import ResourceService
from dspex_gql.signatures.models import Signature, SignatureStatus
from dspex_gql.signatures.repository import SignatureRepository, _duplicate
from dspex_gql.signatures.specs import audit_created, set_fields
from dspex_gql.signatures.stored import engine_signature
from dspex_gql.unset import UNSET, Maybe

DEFAULT_VERSION = "1.0.0"


@dataclass(frozen=True)
class NewSignature:
    name: str
    spec: str | None = None
    inputs: Sequence[engine.SignatureField] | None = None
    outputs: Sequence[engine.SignatureField] | None = None
    description: str | None = None
    instructions: str | None = None
    version: str = DEFAULT_VERSION
    visibility: Visibility = Visibility.PRIVATE


@dataclass(frozen=True)
class SignatureChanges:
    name: Maybe[str] = UNSET
    description: Maybe[str | None] = UNSET
    instructions: Maybe[str | None] = UNSET
    version: Maybe[str] = UNSET
    spec: Maybe[str] = UNSET
    inputs: Maybe[Sequence[engine.SignatureField]] = UNSET
    outputs: Maybe[Sequence[engine.SignatureField]] = UNSET
    visibility: Maybe[Visibility] = UNSET

    def touches_contract(self) -> bool:
        """Changes that alter what programs bound to the signature see."""
        contract = (
            self.name,
            self.version,
            self.spec,
            self.inputs,
            self.outputs,
            self.instructions,
        )
        return any(value is not UNSET for value in contract)


class SignatureService(ResourceService[Signature, SignatureRepository]):
    repository = SignatureRepository

    async def program_counts(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        async with self._uow.read() as tx:
            return await self._repo(tx).program_counts(ids)

    async def for_programs(self, ids: Iterable[UUID]) -> dict[UUID, Signature]:
        """Signatures of programs the actor reads: reading a program shows its signature, even a
        PRIVATE one of someone else."""
        async with self._uow.read() as tx:
            return await SignatureRepository(tx.session, self._actor.organization_id).get_many(ids)

    async def create(self, new: NewSignature) -> Signature:
        policies.ensure_can_create(self._actor, "signatures")
        parsed = _parse_new(new)
        name = new.name.strip()
        async with self._uow() as tx:
            repo = self._repo(tx)
            if await repo.find_by_name(name, new.version):
                raise _duplicate(name, new.version)
            signature = Signature(
                name=name,
                description=new.description,
                instructions=new.instructions,
                version=new.version,
                status=SignatureStatus.DRAFT,
                visibility=new.visibility,
            )
            set_fields(signature, parsed)
            repo.add(signature, created_by=self._actor.user_id)
            await repo.save_unique(signature)
            audit_created(tx, self._actor, signature)
            return signature

    async def update(self, id: UUID, changes: SignatureChanges) -> Signature:
        async with self._uow() as tx:
            repo = self._repo(tx)
            signature = await repo.require(id)
            policies.ensure_can_change(self._actor, signature, "signature")
            _check_changeable(signature, changes)
            _apply(signature, changes)
            await repo.save_unique(signature)
            given = {k: v for k, v in vars(changes).items() if v is not UNSET}
            audit.record(tx, self._actor, "signature.update", "Signature", id, given)
            return signature

    async def activate(self, id: UUID) -> Signature:
        return await self._transition(
            id,
            SignatureStatus.DRAFT,
            SignatureStatus.ACTIVE,
            "Only draft signatures can be activated",
        )

    async def deprecate(self, id: UUID) -> Signature:
        return await self._transition(
            id,
            SignatureStatus.ACTIVE,
            SignatureStatus.DEPRECATED,
            "Only active signatures can be deprecated",
        )

    async def delete(self, id: UUID) -> Signature:
        async with self._uow() as tx:
            repo = self._repo(tx)
            signature = await repo.require(id)
            policies.ensure_can_change(self._actor, signature, "signature")
            used_by = (await repo.program_counts([id], visible_only=False)).get(id, 0)
            if used_by:
                raise Conflict(f"Signature is used by {used_by} program(s); it cannot be deleted")
            changes = {"name": signature.name, "version": signature.version}
            await repo.delete(signature)
            audit.record(tx, self._actor, "signature.delete", "Signature", id, changes)
            return signature

    async def _transition(
        self, id: UUID, source: SignatureStatus, target: SignatureStatus, refusal: str
    ) -> Signature:
        async with self._uow() as tx:
            signature = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, signature, "signature")
            if signature.status != source:
                raise Conflict(refusal)
            signature.status = target
            action = {SignatureStatus.ACTIVE: "activate", SignatureStatus.DEPRECATED: "deprecate"}
            changes = {"status": [source, target]}
            audit.record(tx, self._actor, f"signature.{action[target]}", "Signature", id, changes)
            return signature


def _parse_new(new: NewSignature) -> engine.ParsedSignature:
    problems = [
        *validation.text("name", new.name, max_length=200, required=True),
        *validation.version("version", new.version),
        *validation.text("description", new.description, max_length=10_000),
        *validation.text("instructions", new.instructions, max_length=20_000),
    ]
    parsed, parse_problems = _parse_contract(new.spec, new.inputs, new.outputs)
    problems += parse_problems
    if problems or parsed is None:
        raise ValidationFailed(problems)
    return parsed


def _parse_contract(
    spec: str | None,
    inputs: Sequence[engine.SignatureField] | None,
    outputs: Sequence[engine.SignatureField] | None,
) -> tuple[engine.ParsedSignature | None, list[FieldProblem]]:
    explicit = inputs is not None or outputs is not None
    if (spec is None) == (not explicit):
        message = "give either spec or inputs and outputs"
        return None, [FieldProblem("spec", message, "required")]
    try:
        if spec is not None:
            return engine.parse_signature(spec), []
        return engine.build_signature(inputs or (), outputs or ()), []
    except engine.SignatureError as error:
        return None, list(error.problems)


def _check_changeable(signature: Signature, changes: SignatureChanges) -> None:
    if signature.status == SignatureStatus.DEPRECATED:
        raise Conflict("Deprecated signatures cannot be changed")
    if signature.status == SignatureStatus.ACTIVE and changes.touches_contract():
        raise Conflict(
            "Only the description and visibility of an active signature can change; "
            "create a new version instead"
        )


def _apply(signature: Signature, changes: SignatureChanges) -> None:
    problems = _check_changes(changes)
    if problems:
        raise ValidationFailed(problems)
    if changes.name is not UNSET:
        signature.name = changes.name.strip()
    if changes.version is not UNSET:
        signature.version = changes.version
    if changes.description is not UNSET:
        signature.description = changes.description
    if changes.instructions is not UNSET:
        signature.instructions = changes.instructions
    if changes.visibility is not UNSET:
        signature.visibility = changes.visibility
    problems = _apply_contract(signature, changes)
    if problems:
        raise ValidationFailed(problems)


def _check_changes(changes: SignatureChanges) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if changes.name is not UNSET:
        problems += validation.text("name", changes.name, max_length=200, required=True)
    if changes.version is not UNSET:
        problems += validation.version("version", changes.version or "")
    if changes.description is not UNSET:
        problems += validation.text("description", changes.description, max_length=10_000)
    if changes.instructions is not UNSET:
        problems += validation.text("instructions", changes.instructions, max_length=20_000)
    if changes.visibility is None:
        problems.append(FieldProblem("visibility", "must not be null", "required"))
    return problems


def _apply_contract(signature: Signature, changes: SignatureChanges) -> list[FieldProblem]:
    if changes.spec is UNSET and changes.inputs is UNSET and changes.outputs is UNSET:
        return []
    spec = None if changes.spec is UNSET else changes.spec
    current = engine_signature(signature)
    inputs = current.inputs if changes.inputs is UNSET else changes.inputs
    outputs = current.outputs if changes.outputs is UNSET else changes.outputs
    parsed, problems = _parse_contract(spec, None if spec else inputs, None if spec else outputs)
    if parsed is not None:
        set_fields(signature, parsed)
    return problems

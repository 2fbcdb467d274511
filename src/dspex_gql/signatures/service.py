"""Signature use cases: create from a spec or explicit fields, update, lifecycle, delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.audit import recorder as audit
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine import signatures as engine
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.policies import Visibility
from dspex_gql.resource import ResourceService
from dspex_gql.signatures.models import Signature, SignatureStatus
from dspex_gql.signatures.repository import SignatureRepository, _duplicate
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


class SignatureService(ResourceService[Signature]):
    def _repo(self, tx: UnitOfWork) -> SignatureRepository:
        return SignatureRepository(tx.session, self._actor.organization_id, self._actor)

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
            _set_fields(signature, parsed)
            repo.add(signature, created_by=self._actor.user_id)
            await repo.save_unique(signature)
            _audit_created(tx, self._actor, signature)
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


async def find_or_create_for_spec(
    tx: UnitOfWork, repo: SignatureRepository, spec: str, actor: Actor, visibility: Visibility
) -> Signature:
    """A usable signature with this spec that the actor can read, or a new ACTIVE one named by it
    (with the visibility of the program it is made for)."""
    parsed = parse_spec(spec, "signatureSpec")
    canonical = parsed.to_spec()
    found = await repo.find_usable_by_spec(canonical)
    if found is not None:
        return found
    name = canonical[:200]
    version = _next_free_version(await repo.versions_of(name))
    signature = Signature(
        name=name, version=version, status=SignatureStatus.ACTIVE, visibility=visibility
    )
    _set_fields(signature, parsed)
    repo.add(signature, created_by=actor.user_id)
    await repo.save_unique(signature)
    _audit_created(tx, actor, signature)
    return signature


def _audit_created(tx: UnitOfWork, actor: Actor, signature: Signature) -> None:
    changes = {
        "name": signature.name,
        "version": signature.version,
        "spec": signature.spec,
        "visibility": signature.visibility,
    }
    audit.record(tx, actor, "signature.create", "Signature", signature.id, changes)


def _next_free_version(taken: set[str]) -> str:
    """`1.0.0`, or the first of `1.0.1`, `1.0.2`, ... that no (deprecated) signature holds."""
    patch = 0
    while f"1.0.{patch}" in taken:
        patch += 1
    return f"1.0.{patch}"


def parse_spec(spec: str, field: str = "spec") -> engine.Signature:
    try:
        return engine.parse_signature(spec)
    except engine.SignatureError as error:
        raise ValidationFailed(_renamed(error.problems, "spec", field)) from None


def engine_signature(signature: Signature) -> engine.Signature:
    return engine.Signature(
        inputs=tuple(engine.SignatureField(**field) for field in signature.inputs),
        outputs=tuple(engine.SignatureField(**field) for field in signature.outputs),
    )


def _renamed(problems: Iterable[FieldProblem], old: str, new: str) -> list[FieldProblem]:
    return [FieldProblem(new if p.field == old else p.field, p.message, p.code) for p in problems]


def _parse_new(new: NewSignature) -> engine.Signature:
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
) -> tuple[engine.Signature | None, list[FieldProblem]]:
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


def _set_fields(signature: Signature, parsed: engine.Signature) -> None:
    signature.spec = parsed.to_spec()
    signature.inputs = [_stored(field) for field in parsed.inputs]
    signature.outputs = [_stored(field) for field in parsed.outputs]


def _stored(field: engine.SignatureField) -> dict[str, Any]:
    return {"name": field.name, "type": field.type, "description": field.description}


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
        _set_fields(signature, parsed)
    return problems

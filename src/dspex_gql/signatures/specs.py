"""Signatures from a spec: parsed, stored, and found or created for a program's `signatureSpec`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dspex_gql.audit import recorder as audit
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine import signatures as engine
from dspex_gql.errors import FieldProblem, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.policies import Visibility
from dspex_gql.signatures.models import Signature, SignatureStatus
from dspex_gql.signatures.repository import SignatureRepository


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
    set_fields(signature, parsed)
    repo.add(signature, created_by=actor.user_id)
    await repo.save_unique(signature)
    audit_created(tx, actor, signature)
    return signature


def audit_created(tx: UnitOfWork, actor: Actor, signature: Signature) -> None:
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


def parse_spec(spec: str, field: str = "spec") -> engine.ParsedSignature:
    try:
        return engine.parse_signature(spec)
    except engine.SignatureError as error:
        raise ValidationFailed(_renamed(error.problems, "spec", field)) from None


def _renamed(problems: Iterable[FieldProblem], old: str, new: str) -> list[FieldProblem]:
    return [FieldProblem(new if p.field == old else p.field, p.message, p.code) for p in problems]


def set_fields(signature: Signature, parsed: engine.ParsedSignature) -> None:
    signature.spec = parsed.to_spec()
    signature.inputs = [_stored(field) for field in parsed.inputs]
    signature.outputs = [_stored(field) for field in parsed.outputs]


def _stored(field: engine.SignatureField) -> dict[str, Any]:
    return {"name": field.name, "type": field.type, "description": field.description}

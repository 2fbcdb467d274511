"""The programs a DAG definition runs, as the actor sees them: what validation checks it against,
and (at run time) what each PROGRAM node runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.engine.dags.definition import DagDefinition, NodeKind
from dspex_gql.engine.dags.flow import Signatures
from dspex_gql.identity import Actor
from dspex_gql.programs.models import Program
from dspex_gql.programs.repository import ProgramRepository
from dspex_gql.signatures.models import Signature
from dspex_gql.signatures.stored import engine_signature


def program_ids(definition: DagDefinition) -> set[str]:
    """The program ids PROGRAM nodes name, as written (not necessarily UUIDs)."""
    return {
        node.program_id
        for node in definition.nodes
        if node.kind is NodeKind.PROGRAM and node.program_id is not None
    }


async def visible_programs(
    session: AsyncSession, actor: Actor, ids: Iterable[str]
) -> dict[str, tuple[Program, Signature]]:
    """The programs among `ids` the actor can see, with their signatures, by id as written; an id
    that is not a UUID, unknown, another organization's or hidden from the actor is left out."""
    return await programs_by_id(session, actor.organization_id, ids, actor)


async def programs_by_id(
    session: AsyncSession,
    organization_id: UUID,
    ids: Iterable[str],
    reader: Actor | None = None,
) -> dict[str, tuple[Program, Signature]]:
    """The organization's programs among `ids` that `reader` sees (all: a resumed run has no
    actor), with their signatures, by id as written."""
    wanted = _uuids(ids)
    repository = ProgramRepository(session, organization_id, reader)
    found = await repository.with_signatures(wanted.values())
    return {text: found[id] for text, id in wanted.items() if id in found}


async def signatures_for(
    session: AsyncSession, actor: Actor, definition: DagDefinition
) -> Signatures:
    """What `engine.dags.validation.validate` needs: each program id's signature, None for an
    unknown one (or one the actor cannot see)."""
    ids = program_ids(definition)
    wanted = _uuids(ids)
    repository = ProgramRepository(session, actor.organization_id, actor)
    found = await repository.signatures(wanted.values())
    return {text: found.get(wanted[text]) if text in wanted else None for text in ids}


def signatures_of(found: Mapping[str, tuple[Program, Signature]], ids: Iterable[str]) -> Signatures:
    """Each of `ids` to its program's signature in `found`, None where it was not found."""
    return {id: engine_signature(found[id][1]) if id in found else None for id in ids}


def _uuids(texts: Iterable[str]) -> dict[str, UUID]:
    """The texts that spell a UUID, each with its UUID."""
    return {text: uuid for text in texts if (uuid := _uuid(text)) is not None}


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None

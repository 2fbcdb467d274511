"""What a DAG's fields must be: its name and description, and its definition, checked against
the programs the actor can see."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql import validation
from dspex_gql.dags.programs import signatures_for
from dspex_gql.engine.dags.parsing import DefinitionError, parse_definition
from dspex_gql.engine.dags.validation import validate
from dspex_gql.errors import FieldProblem, ValidationFailed
from dspex_gql.identity import Actor

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000


def name_problems(name: str | None) -> list[FieldProblem]:
    return validation.text("name", name, max_length=MAX_NAME_LENGTH, required=True)


def description_problems(description: str | None) -> list[FieldProblem]:
    return validation.text("description", description, max_length=MAX_DESCRIPTION_LENGTH)


async def definition_problems(
    session: AsyncSession, actor: Actor, raw: Any, *, max_bytes: int
) -> list[FieldProblem]:
    """Every problem of a definition a client sent: its size, its shape, then its graph and
    types against the programs `actor` can see (a DAG may run only programs its author sees)."""
    too_large = validation.json_size("definition", raw, max_bytes=max_bytes)
    if too_large:
        return too_large
    try:
        definition = parse_definition(raw)
    except DefinitionError as error:
        return list(error.problems)
    return validate(definition, await signatures_for(session, actor, definition))


def raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)

"""Language models by name, resolved for a run: what executions and optimizations call when a
run starts (`{"lm": "fast"}` in a configuration names the model `fast`)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.errors import ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.language_models.repository import LanguageModelRepository
from dspex_gql.language_models.stored import spec_of
from dspex_gql.secrets_box import SecretBox


async def resolve_language_models(
    session: AsyncSession,
    organization_id: UUID,
    names: Iterable[str],
    secrets: SecretBox,
    reader: Actor | None = None,
) -> dict[str, LanguageModelSpec]:
    """The organization's models with these names, by name, with their API keys decrypted.
    With a `reader`, only the models it may read (None: the system, which sees them all). A name
    with no such model is left out; an API key that cannot be decrypted is a Conflict."""
    wanted = set(names)
    if not wanted:
        return {}
    models = await LanguageModelRepository(session, organization_id, reader).named(wanted)
    return {model.name: spec_of(model, secrets) for model in models}


async def require_language_models(
    session: AsyncSession,
    organization_id: UUID,
    names: Iterable[str],
    secrets: SecretBox,
    field: str,
) -> dict[str, LanguageModelSpec]:
    """`resolve_language_models`, or ValidationFailed on `field` naming a model that is missing."""
    wanted = set(names)
    found = await resolve_language_models(session, organization_id, wanted, secrets)
    missing = sorted(wanted - found.keys())
    if missing:
        message = f"no language model named '{missing[0]}' in this organization"
        raise ValidationFailed.single(field, message, "unknown")
    return found

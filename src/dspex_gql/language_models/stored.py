"""A stored language model as the engine's `LanguageModelSpec`, its API key decrypted."""

from __future__ import annotations

from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.errors import Conflict
from dspex_gql.language_models.models import LanguageModel
from dspex_gql.secrets_box import SecretBox, SecretsUnavailable, SecretUnreadable


def spec_of(model: LanguageModel, secrets: SecretBox) -> LanguageModelSpec:
    """Conflict when the stored API key cannot be decrypted (no key, or another key)."""
    return LanguageModelSpec(
        id=str(model.id),
        revision=model.updated_at.isoformat(),
        name=model.name,
        model=model.model,
        base_url=model.base_url,
        api_key=_api_key(model, secrets),
        defaults=dict(model.defaults),
        prompt_price_per_million=model.prompt_price_per_million,
        completion_price_per_million=model.completion_price_per_million,
        max_concurrency=model.max_concurrency,
        requests_per_minute=model.requests_per_minute,
    )


def _api_key(model: LanguageModel, secrets: SecretBox) -> str | None:
    if model.api_key_ciphertext is None:
        return None
    cannot = f"The API key of language model {model.name!r} cannot be read"
    try:
        return secrets.decrypt(model.api_key_ciphertext)
    except SecretsUnavailable as missing:
        raise Conflict(f"{cannot}: {missing}") from None
    except SecretUnreadable as unreadable:
        raise Conflict(f"{cannot}: {unreadable}; send it again with updateLanguageModel") from None

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.engine.language_models import ModelCheck
from dspex_gql.graphql.context import Info
from dspex_gql.language_models import models
from dspex_gql.policies import Visibility


@strawberry.type(description="A model the dspy adapter calls; a program names it: {lm: <name>}.")
class LanguageModel:
    id: strawberry.ID
    name: str
    model: str = strawberry.field(description="As DSPy spells it: openai/gpt-4o-mini.")
    base_url: str | None
    has_api_key: bool = strawberry.field(description="The key itself is never returned.")
    defaults: JSON
    prompt_price_per_million: float | None
    completion_price_per_million: float | None
    max_concurrency: int
    requests_per_minute: int | None
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    created_by: strawberry.Private[UUID | None]

    @strawberry.field(description="The user who created the model.")
    async def owner(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @classmethod
    def of(cls, model: models.LanguageModel) -> LanguageModel:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            model=model.model,
            base_url=model.base_url,
            has_api_key=model.api_key_ciphertext is not None,
            defaults=JSON(model.defaults),
            prompt_price_per_million=model.prompt_price_per_million,
            completion_price_per_million=model.completion_price_per_million,
            max_concurrency=model.max_concurrency,
            requests_per_minute=model.requests_per_minute,
            visibility=model.visibility,
            created_at=model.created_at,
            updated_at=model.updated_at,
            created_by=model.created_by,
        )


@strawberry.type(description="The answer of one tiny call to a language model.")
class LanguageModelCheck:
    ok: bool
    latency_ms: float
    error: str | None

    @classmethod
    def of(cls, check: ModelCheck) -> LanguageModelCheck:
        return cls(ok=check.ok, latency_ms=check.latency_ms, error=check.error)

from __future__ import annotations

import enum
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.graphql.filters import DateTimeFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.language_models.service import (
    DEFAULT_MAX_CONCURRENCY,
    LanguageModelChanges,
    NewLanguageModel,
)
from dspex_gql.policies import Visibility
from dspex_gql.signatures.schema import VisibilityFilter

API_KEY = "Write-only: stored encrypted, never returned (see hasApiKey)."
DEFAULTS = (
    "Request parameters a program's configuration may override, e.g. "
    '{"temperature": 0.2, "max_tokens": 512} (temperature 0..2, max_tokens ≥ 1).'
)


@strawberry.input
class LanguageModelFilter:
    and_: list[LanguageModelFilter] | None = filter_field("and")
    or_: list[LanguageModelFilter] | None = filter_field("or")
    not_: LanguageModelFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    model: StringFilter | None = filter_field()
    visibility: VisibilityFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    updated_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class LanguageModelOrderField(enum.Enum):
    NAME = "NAME"
    MODEL = "MODEL"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(name="LanguageModelOrder")
class LanguageModelOrder(Order[LanguageModelOrderField]):
    pass


@strawberry.input
class CreateLanguageModelInput:
    name: str = strawberry.field(description="Unique in the organization; programs use it.")
    model: str = strawberry.field(description="As DSPy spells it: openai/gpt-4o-mini.")
    base_url: str | None = strawberry.field(
        default=None, description="An OpenAI-compatible endpoint: http://127.0.0.1:8000/v1."
    )
    api_key: str | None = strawberry.field(default=None, description=API_KEY)
    defaults: JSON | None = strawberry.field(
        default=None, description=DEFAULTS + " Omitted or null means {}."
    )
    prompt_price_per_million: float | None = None
    completion_price_per_million: float | None = None
    max_concurrency: int = strawberry.field(
        default=DEFAULT_MAX_CONCURRENCY, description="Calls at once, 1 to 1000."
    )
    requests_per_minute: int | None = strawberry.field(
        default=None, description="1 to 1,000,000; null: no limit."
    )
    visibility: Visibility = Visibility.PRIVATE

    def to_new(self) -> NewLanguageModel:
        return NewLanguageModel(
            name=self.name,
            model=self.model,
            base_url=self.base_url,
            api_key=self.api_key,
            defaults={} if self.defaults is None else self.defaults,
            prompt_price_per_million=self.prompt_price_per_million,
            completion_price_per_million=self.completion_price_per_million,
            max_concurrency=self.max_concurrency,
            requests_per_minute=self.requests_per_minute,
            visibility=self.visibility,
        )


@strawberry.input(description="Omitted fields stay as they are; null clears a nullable one.")
class UpdateLanguageModelInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Refused while programs use the model."
    )
    model: str | None = strawberry.UNSET
    base_url: str | None = strawberry.UNSET
    api_key: str | None = strawberry.field(
        default=strawberry.UNSET, description=API_KEY + " Null removes the key."
    )
    defaults: JSON | None = strawberry.field(default=strawberry.UNSET, description=DEFAULTS)
    prompt_price_per_million: float | None = strawberry.UNSET
    completion_price_per_million: float | None = strawberry.UNSET
    max_concurrency: int | None = strawberry.UNSET
    requests_per_minute: int | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET

    def to_changes(self) -> LanguageModelChanges:
        return LanguageModelChanges(**provided(self))


def language_model_uuid(id: strawberry.ID) -> UUID:
    return to_uuid(id, "LanguageModel")

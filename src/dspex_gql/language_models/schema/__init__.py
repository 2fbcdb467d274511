"""Language models over GraphQL: types, inputs, queries, mutations."""

from __future__ import annotations

from dspex_gql.language_models.schema.inputs import (
    CreateLanguageModelInput,
    LanguageModelFilter,
    LanguageModelOrder,
    LanguageModelOrderField,
    UpdateLanguageModelInput,
    language_model_uuid,
)
from dspex_gql.language_models.schema.mutations import (
    CreateLanguageModelResult,
    DeleteLanguageModelResult,
    LanguageModelMutation,
    TestLanguageModelResult,
    UpdateLanguageModelResult,
)
from dspex_gql.language_models.schema.queries import LanguageModelQuery
from dspex_gql.language_models.schema.types import LanguageModel, LanguageModelCheck

__all__ = [
    "CreateLanguageModelInput",
    "CreateLanguageModelResult",
    "DeleteLanguageModelResult",
    "LanguageModel",
    "LanguageModelCheck",
    "LanguageModelFilter",
    "LanguageModelMutation",
    "LanguageModelOrder",
    "LanguageModelOrderField",
    "LanguageModelQuery",
    "TestLanguageModelResult",
    "UpdateLanguageModelInput",
    "UpdateLanguageModelResult",
    "language_model_uuid",
]

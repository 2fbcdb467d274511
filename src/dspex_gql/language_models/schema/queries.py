from __future__ import annotations

import strawberry

from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.language_models.schema.inputs import LanguageModelFilter, LanguageModelOrder
from dspex_gql.language_models.schema.types import LanguageModel


@strawberry.type
class LanguageModelQuery:
    language_model = field_by_id(LanguageModel, lambda services: services.language_models)
    language_models = list_field(
        LanguageModel,
        LanguageModelFilter,
        LanguageModelOrder,
        lambda services: services.language_models,
    )

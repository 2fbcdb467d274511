from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from dspex_gql.engine.variables import SamplingStrategy
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import field_errors
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.variable_spaces.schema.inputs import (
    VariableSpaceFilter,
    VariableSpaceOrder,
    space_uuid,
)
from dspex_gql.variable_spaces.schema.types import ConfigurationCheck, VariableSpace


@strawberry.type
class VariableSpaceQuery:
    variable_space = field_by_id(VariableSpace, lambda services: services.variable_spaces)
    variable_spaces = list_field(
        VariableSpace,
        VariableSpaceFilter,
        VariableSpaceOrder,
        lambda services: services.variable_spaces,
    )

    @strawberry.field(description="Valid configurations of the space; reproducible with a seed.")
    async def generate_configurations(
        self,
        info: Info,
        variable_space_id: strawberry.ID,
        strategy: SamplingStrategy = SamplingStrategy.RANDOM,
        count: int = 1,
        seed: int | None = None,
    ) -> list[JSON]:
        service = info.context.services.variable_spaces
        found = await service.generate(space_uuid(variable_space_id), strategy, count, seed)
        return [JSON(configuration) for configuration in found]

    @strawberry.field(description="Missing variables are fine: their defaults apply.")
    async def validate_configuration(
        self, info: Info, variable_space_id: strawberry.ID, configuration: JSON
    ) -> ConfigurationCheck:
        service = info.context.services.variable_spaces
        problems = await service.check_configuration(space_uuid(variable_space_id), configuration)
        return ConfigurationCheck(valid=not problems, field_errors=field_errors(problems))

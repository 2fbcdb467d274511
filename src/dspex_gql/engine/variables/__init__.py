"""Variable spaces: typed variables with dependencies, their configurations, metrics and samples."""

from dspex_gql.engine.variables.configurations import (
    complete,
    default_value,
    is_active,
    ordered,
    validate_configuration,
)
from dspex_gql.engine.variables.domains import check_value, value_key
from dspex_gql.engine.variables.metrics import Difficulty, SpaceMetrics, measure
from dspex_gql.engine.variables.model import (
    Choices,
    Configuration,
    Dependency,
    Domain,
    FloatRange,
    IntRange,
    SearchSpace,
    Variable,
    VariableType,
)
from dspex_gql.engine.variables.parsing import (
    MAX_VARIABLES,
    SpaceInvalid,
    build_space,
    space_to_json,
)
from dspex_gql.engine.variables.sampling import (
    SamplingStrategy,
    from_unit,
    generate,
    grid_size,
    grid_values,
    iterate_grid,
)

__all__ = [
    "MAX_VARIABLES",
    "Choices",
    "Configuration",
    "Dependency",
    "Difficulty",
    "Domain",
    "FloatRange",
    "IntRange",
    "SamplingStrategy",
    "SearchSpace",
    "SpaceInvalid",
    "SpaceMetrics",
    "Variable",
    "VariableType",
    "build_space",
    "check_value",
    "complete",
    "default_value",
    "from_unit",
    "generate",
    "grid_size",
    "grid_values",
    "is_active",
    "iterate_grid",
    "measure",
    "ordered",
    "space_to_json",
    "validate_configuration",
    "value_key",
]

"""Variable spaces over GraphQL: types, inputs, queries, mutations."""

from __future__ import annotations

from dspex_gql.variable_spaces.schema.inputs import (
    CreateVariableSpaceInput,
    UpdateVariableSpaceInput,
    VariableDependencyInput,
    VariableInput,
    VariableSpaceFilter,
    VariableSpaceOrder,
    VariableSpaceOrderField,
    space_uuid,
)
from dspex_gql.variable_spaces.schema.mutations import (
    AddVariableResult,
    CreateVariableSpaceResult,
    DeleteVariableSpaceResult,
    RemoveVariableResult,
    UpdateVariableSpaceResult,
    VariableSpaceMutation,
)
from dspex_gql.variable_spaces.schema.queries import VariableSpaceQuery
from dspex_gql.variable_spaces.schema.types import (
    ConfigurationCheck,
    OptimizationRunType,
    VariableDefinition,
    VariableSpace,
)

__all__ = [
    "AddVariableResult",
    "ConfigurationCheck",
    "CreateVariableSpaceInput",
    "CreateVariableSpaceResult",
    "DeleteVariableSpaceResult",
    "OptimizationRunType",
    "RemoveVariableResult",
    "UpdateVariableSpaceInput",
    "UpdateVariableSpaceResult",
    "VariableDefinition",
    "VariableDependencyInput",
    "VariableInput",
    "VariableSpace",
    "VariableSpaceFilter",
    "VariableSpaceMutation",
    "VariableSpaceOrder",
    "VariableSpaceOrderField",
    "VariableSpaceQuery",
    "space_uuid",
]

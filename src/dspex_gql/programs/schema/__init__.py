"""Programs over GraphQL: types, inputs, queries, mutations."""

from __future__ import annotations

from dspex_gql.programs.schema.inputs import (
    CreateProgramInput,
    ProgramFilter,
    ProgramOrder,
    ProgramOrderField,
    ProgramStatusFilter,
    ProgramTypeFilter,
    UpdateProgramInput,
)
from dspex_gql.programs.schema.mutations import (
    ArchiveProgramResult,
    CloneProgramResult,
    CreateProgramResult,
    InitializeProgramResult,
    ProgramMutation,
    UpdateProgramMetricsResult,
    UpdateProgramResult,
)
from dspex_gql.programs.schema.queries import ProgramQuery
from dspex_gql.programs.schema.types import (
    ExecutionFilterType,
    ExecutionOrderType,
    ExecutionType,
    OptimizationRunType,
    Program,
    ProgramStats,
    VariableSpaceType,
)

__all__ = [
    "ArchiveProgramResult",
    "CloneProgramResult",
    "CreateProgramInput",
    "CreateProgramResult",
    "ExecutionFilterType",
    "ExecutionOrderType",
    "ExecutionType",
    "InitializeProgramResult",
    "OptimizationRunType",
    "Program",
    "ProgramFilter",
    "ProgramMutation",
    "ProgramOrder",
    "ProgramOrderField",
    "ProgramQuery",
    "ProgramStats",
    "ProgramStatusFilter",
    "ProgramTypeFilter",
    "UpdateProgramInput",
    "UpdateProgramMetricsResult",
    "UpdateProgramResult",
    "VariableSpaceType",
]

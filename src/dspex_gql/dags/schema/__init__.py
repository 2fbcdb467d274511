"""DAGs over GraphQL: types, inputs, queries, mutations (their runs live beside them)."""

from __future__ import annotations

from dspex_gql.dags.schema.inputs import (
    CreateDagInput,
    DagFilter,
    DagOrder,
    DagOrderField,
    DagStatusFilter,
    UpdateDagInput,
)
from dspex_gql.dags.schema.mutations import (
    ActivateDagResult,
    ArchiveDagResult,
    CreateDagResult,
    DagMutation,
    DeleteDagResult,
    UpdateDagResult,
)
from dspex_gql.dags.schema.queries import DagQuery
from dspex_gql.dags.schema.run_operations import DagRunMutation, DagRunQuery, DagRunSubscription
from dspex_gql.dags.schema.runs import DagRun, NodeExecution
from dspex_gql.dags.schema.types import Dag, DagNode, DagVersion

__all__ = [
    "ActivateDagResult",
    "ArchiveDagResult",
    "CreateDagInput",
    "CreateDagResult",
    "Dag",
    "DagFilter",
    "DagMutation",
    "DagNode",
    "DagOrder",
    "DagOrderField",
    "DagQuery",
    "DagRun",
    "DagRunMutation",
    "DagRunQuery",
    "DagRunSubscription",
    "DagStatusFilter",
    "DagVersion",
    "DeleteDagResult",
    "NodeExecution",
    "UpdateDagInput",
    "UpdateDagResult",
]

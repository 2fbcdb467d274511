from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.dags import models
from dspex_gql.dags.models import DagStatus
from dspex_gql.dags.schema.runs import DagRun, DagRunFilter, DagRunOrder
from dspex_gql.db.listing import Condition
from dspex_gql.engine.dags.definition import NodeDefinition, NodeKind, Transform
from dspex_gql.engine.dags.parsing import parse_definition
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.selections import ColumnsOf
from dspex_gql.policies import Visibility
from dspex_gql.programs.schema import Program

strawberry.enum(DagStatus)
strawberry.enum(NodeKind, name="DagNodeKind")


@strawberry.type(description="One node of a DAG's definition, with its defaults filled in.")
class DagNode:
    name: str
    dependencies: list[str]
    kind: NodeKind
    inputs: JSON = strawberry.field(
        description='Each input field\'s source, e.g. {"question": "$context.question", '
        '"passage": "$nodes.retrieve.passage"}.'
    )
    max_retries: int
    timeout_seconds: float | None
    fan_out: str | None = strawberry.field(
        description="The input (a list) the node runs once per item of."
    )
    transform: JSON | None = strawberry.field(
        description='A TRANSFORM node\'s operation: {"op": "pick", "fields": [...]}, '
        '{"op": "rename", "renames": {...}} or {"op": "merge", "into": "..."}.'
    )
    program_id: strawberry.Private[str | None]

    @strawberry.field(description="A PROGRAM node's program; null when the reader cannot see it.")
    async def program(self, info: Info) -> Program | None:
        id = _uuid(self.program_id)
        if id is None:
            return None
        program = await info.context.loaders.program.load(id)
        return None if program is None else Program.of(program)

    @classmethod
    def of(cls, node: NodeDefinition) -> DagNode:
        return cls(
            name=node.name,
            dependencies=list(node.dependencies),
            kind=node.kind,
            inputs=JSON({target: str(ref) for target, ref in node.inputs.items()}),
            max_retries=node.max_retries,
            timeout_seconds=node.timeout_seconds,
            fan_out=node.fan_out,
            transform=None if node.transform is None else JSON(_transform(node.transform)),
            program_id=node.program_id,
        )


@strawberry.type(description="A definition a DAG had; never changed once written.")
class DagVersion:
    version: int
    definition: JSON
    created_at: datetime
    created_by_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The user who wrote this version.")
    async def created_by(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by_id)

    @classmethod
    def of(cls, version: models.DagVersion) -> DagVersion:
        return cls(
            version=version.version,
            definition=JSON(version.definition),
            created_at=version.created_at,
            created_by_id=version.created_by,
        )


@strawberry.type
class Dag:
    id: strawberry.ID
    name: str
    description: str | None
    status: DagStatus
    version: int = strawberry.field(description="The current version: the one new runs run.")
    definition: JSON = strawberry.field(description="The current version's definition.")
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    created_by_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The current definition's nodes, in the order written.")
    def nodes(self) -> list[DagNode]:
        return [DagNode.of(node) for node in parse_definition(self.definition).nodes]

    @strawberry.field(description="Every version, oldest first.")
    async def versions(self, info: Info) -> list[DagVersion]:
        versions = await info.context.loaders.dag_versions.load(self.uuid)
        return [DagVersion.of(version) for version in versions]

    @strawberry.field(description="The user who created the DAG.")
    async def created_by(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by_id)

    @strawberry.field(description="Its runs, newest first unless ordered otherwise.")
    async def runs(
        self,
        info: Info,
        filter: DagRunFilter | None = None,
        order_by: list[DagRunOrder] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[DagRun]:
        within = Condition("dag_id", "eq", self.uuid)
        request = list_request(info, filter, order_by, first, after, within=within)
        return await connection(info.context.services.dag_runs, request, DagRun.of)

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)

    @classmethod
    def of(cls, dag: models.Dag) -> Dag:
        return cls(
            id=strawberry.ID(str(dag.id)),
            name=dag.name,
            description=dag.description,
            status=dag.status,
            version=dag.version,
            definition=JSON(dag.definition),
            visibility=dag.visibility,
            created_at=dag.created_at,
            updated_at=dag.updated_at,
            created_by_id=dag.created_by,
        )


DAG_COLUMNS: ColumnsOf = {
    "id": ("id",),
    "name": ("name",),
    "description": ("description",),
    "status": ("status",),
    "version": ("version",),
    "definition": ("definition",),
    "visibility": ("visibility",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "nodes": ("definition",),
    "versions": ("id",),
    "createdBy": ("created_by",),
    "runs": ("id",),
}
"""What each field of a Dag is made from: `dags` reads only the columns of the fields selected."""


def _transform(transform: Transform) -> dict[str, Any]:
    """`{"op": "pick", "fields": ["a"]}`: the op and the parameters it takes."""
    parameters = {
        "fields": list(transform.fields) or None,
        "renames": dict(transform.renames) or None,
        "into": transform.into,
    }
    return {"op": transform.op.value} | {k: v for k, v in parameters.items() if v is not None}


def _uuid(text: str | None) -> UUID | None:
    try:
        return None if text is None else UUID(text)
    except ValueError:
        return None

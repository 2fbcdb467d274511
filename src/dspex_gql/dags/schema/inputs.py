from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from dspex_gql.dags.models import DagStatus
from dspex_gql.dags.service import DagChanges, NewDag
from dspex_gql.graphql.filters import DateTimeFilter, EnumFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.inputs import provided
from dspex_gql.policies import Visibility
from dspex_gql.signatures.schema import VisibilityFilter

DEFINITION_HELP = (
    '{"nodes": [{"name": "retrieve", "programId": "…", "inputs": {"question": '
    '"$context.question"}}, {"name": "answer", "dependencies": ["retrieve"], "programId": "…", '
    '"inputs": {"passage": "$nodes.retrieve.passage"}}]}. A node also takes kind (PROGRAM or '
    "TRANSFORM, then transform instead of programId), maxRetries, timeoutSeconds and fanOut."
)


@strawberry.input(name="DagStatusFilter")
class DagStatusFilter(EnumFilter[DagStatus]):
    pass


@strawberry.input
class DagFilter:
    and_: list[DagFilter] | None = filter_field("and")
    or_: list[DagFilter] | None = filter_field("or")
    not_: DagFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    status: DagStatusFilter | None = filter_field()
    visibility: VisibilityFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    updated_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class DagOrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(name="DagOrder")
class DagOrder(Order[DagOrderField]):
    pass


@strawberry.input(description="A new DRAFT DAG, version 1. Names are unique in the organization.")
class CreateDagInput:
    name: str
    definition: JSON = strawberry.field(description=DEFINITION_HELP)
    description: str | None = None
    visibility: Visibility = Visibility.PRIVATE

    def to_new(self) -> NewDag:
        return NewDag(
            name=self.name,
            definition=self.definition,
            description=self.description,
            visibility=self.visibility,
        )


@strawberry.input(description="An ARCHIVED DAG cannot change.")
class UpdateDagInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    definition: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A definition other than the current one becomes the next version; "
        "earlier versions are kept as they were.",
    )
    visibility: Visibility | None = strawberry.UNSET

    def to_changes(self) -> DagChanges:
        return DagChanges(**provided(self))

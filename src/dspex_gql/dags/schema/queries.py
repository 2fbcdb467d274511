from __future__ import annotations

import strawberry

from dspex_gql.dags.schema.inputs import DagFilter, DagOrder
from dspex_gql.dags.schema.types import DAG_COLUMNS, Dag
from dspex_gql.graphql.root_fields import field_by_id, list_field


@strawberry.type
class DagQuery:
    dag = field_by_id(Dag, lambda services: services.dags)
    dags = list_field(
        Dag, DagFilter, DagOrder, lambda services: services.dags, columns_of=DAG_COLUMNS
    )

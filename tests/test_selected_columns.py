"""Lists and `program(id)` read only the columns of the fields a query selects
(`graphql/selections.py`): each type that does says what every field is made from, and
`programs` and `program(id)` read the same either way
(`tests/dags/test_selected_columns.py` does the same for DAGs and their runs' nodes)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from dspex_gql.dags.models import Dag as DagModel
from dspex_gql.dags.models import NodeExecution as NodeExecutionModel
from dspex_gql.dags.schema.runs import NODE_EXECUTION_COLUMNS
from dspex_gql.dags.schema.types import DAG_COLUMNS
from dspex_gql.graphql.schema import build_schema
from dspex_gql.graphql.selections import ColumnsOf
from dspex_gql.programs.models import Program as ProgramModel
from dspex_gql.programs.schema.types import PROGRAM_COLUMNS
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient

PROGRAM_FIELDS = [
    "id",
    "name",
    "description",
    "type",
    "implementation",
    "adapter",
    "status",
    "errorMessage",
    "configuration",
    "compiledState",
    "version",
    "performanceMetrics",
    "tags",
    "visibility",
    "createdAt",
    "updatedAt",
    "signature { id name }",
    "parent { id }",
    "children { id }",
    "owner { id }",
    "stats { executionCount }",
    "lastExecutedAt",
    "executions(first: 5) { totalCount }",
    "variableSpace { id }",
    "optimizationRuns(first: 5) { totalCount }",
]


@pytest.mark.parametrize(
    ("graphql_type", "columns_of", "model"),
    [
        ("Dag", DAG_COLUMNS, DagModel),
        ("NodeExecution", NODE_EXECUTION_COLUMNS, NodeExecutionModel),
        ("Program", PROGRAM_COLUMNS, ProgramModel),
    ],
)
def test_every_field_says_what_it_is_made_from(
    graphql_type: str, columns_of: ColumnsOf, model: type[Any]
) -> None:
    """A field missing from its map would read NULL: adding one to the type needs it there."""
    object_type = build_schema()._schema.get_type(graphql_type)
    assert isinstance(object_type, GraphQLObjectType)

    assert set(columns_of) == set(object_type.fields)
    attributes = {attribute.key for attribute in model.__mapper__.column_attrs}
    assert {column for columns in columns_of.values() for column in columns} <= attributes


def test_every_program_field_is_read_in_the_test_below() -> None:
    assert {field.split("(")[0].split(" ")[0] for field in PROGRAM_FIELDS} == set(PROGRAM_COLUMNS)


async def test_each_field_of_a_program_reads_as_when_everything_is_read(
    client: GraphQLClient,
) -> None:
    parent = await create_program(client, ready=False, tags=["a", "b"], description="d")
    cloned = await client.data(
        'mutation($id: ID!) { cloneProgram(id: $id, name: "copy") { __typename } }',
        id=parent["id"],
    )
    assert cloned["cloneProgram"]["__typename"] == "Program"
    fragment = "fragment Everything on Program { " + " ".join(PROGRAM_FIELDS) + " }"
    by_id = await client.data(
        fragment + " query($id: ID!) { program(id: $id) { ...Everything } }", id=parent["id"]
    )
    everything = by_id["program"]
    order = "(first: 1, orderBy: [{field: CREATED_AT, direction: ASC}])"

    for selection in PROGRAM_FIELDS:
        name = selection.split("(")[0].split(" ")[0]
        data = await client.data("query { programs" + order + " { nodes { " + selection + " } } }")
        assert data["programs"]["nodes"] == [{name: everything[name]}], selection
        alone = await client.data(
            "query($id: ID!) { program(id: $id) { " + selection + " } }", id=parent["id"]
        )
        assert alone["program"] == {name: everything[name]}, selection

    listed = await client.data(
        fragment + " query { programs" + order + " { nodes { ...Everything } } }"
    )
    assert listed["programs"]["nodes"] == [everything]
    assert everything["tags"] == ["a", "b"]
    assert everything["children"] != []

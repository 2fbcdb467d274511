"""`dags` and `dagRun { nodeExecutions }` read only the columns of the fields a query selects
(`graphql/selections.py`): every field, read alone, through a fragment, under an alias or through
`edges { node }`, is what it is when everything is read."""

from __future__ import annotations

from fastapi import FastAPI

from tests.dags.helpers import new_dag
from tests.dags.runs_support import finished, started, two_in_a_row
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

DAG_FIELDS = [
    "id",
    "name",
    "description",
    "status",
    "version",
    "definition",
    "visibility",
    "createdAt",
    "updatedAt",
    "createdBy { id }",
    "nodes { name dependencies kind inputs program { id name } }",
    "versions { version definition createdAt }",
]
NODE_FIELDS = [
    "id",
    "nodeName",
    "status",
    "attempts",
    "retryCount",
    "inputs",
    "result",
    "error",
    "startedAt",
    "completedAt",
    "durationMs",
    "cost",
    "promptTokens",
    "completionTokens",
    "reusedFromId",
    "execution { id status }",
    "executions(first: 10) { totalCount nodes { id } }",
]


def name_of(selection: str) -> str:
    return selection.split("(")[0].split(" ")[0]


async def test_each_field_of_a_listed_dag_reads_as_when_everything_is_read(
    client: GraphQLClient,
) -> None:
    dag = await new_dag(client, description="described")
    fragment = "fragment Everything on Dag { " + " ".join(DAG_FIELDS) + " }"
    read_alone = await client.data(
        fragment + " query($id: ID!) { dag(id: $id) { ...Everything } }", id=dag["id"]
    )
    everything = read_alone["dag"]

    for selection in DAG_FIELDS:
        name = name_of(selection)
        data = await client.data(
            "query { dags(first: 1) { nodes { "
            + selection
            + " } edges { node { alias: "
            + selection
            + " } } } }"
        )
        connection = data["dags"]
        assert connection["nodes"] == [{name: everything[name]}], selection
        assert connection["edges"] == [{"node": {"alias": everything[name]}}], selection

    in_fragment = await client.data(
        fragment + " query { dags(first: 1) { nodes { ...Everything } } }"
    )
    assert in_fragment["dags"]["nodes"] == [everything]


async def test_each_field_of_a_runs_nodes_reads_as_when_everything_is_read(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    dag_id = await two_in_a_row(client)
    run_id = await started(client, dag_id, {"question": "Why?"})
    await finished(app, tenant.admin_key, run_id)
    document = (
        "query($id: ID!) { dagRun(id: $id) { nodeExecutions { " + " ".join(NODE_FIELDS) + " } } }"
    )
    everything = (await client.data(document, id=run_id))["dagRun"]["nodeExecutions"]
    assert [node["status"] for node in everything] == ["SUCCESS", "SUCCESS"]

    for selection in NODE_FIELDS:
        name = name_of(selection)
        data = await client.data(
            "query($id: ID!) { dagRun(id: $id) { nodeExecutions { "
            + selection
            + " } again: nodeExecutions { ... on NodeExecution { alias: "
            + selection
            + " } } } }",
            id=run_id,
        )
        run = data["dagRun"]
        assert run["nodeExecutions"] == [{name: node[name]} for node in everything], selection
        assert run["again"] == [{"alias": node[name]} for node in everything], selection

"""What tests of DAGs share: the DAG mutations and queries as a client sends them (each returns
the result whatever its type), and definitions.

    dag = await new_dag(client)                      # a DRAFT DAG of one_node(): one program
    await change(client, "activateDag", dag["id"])   # activateDag, archiveDag, deleteDag
    search = await create_program(client, ready=False, signatureSpec="question -> passage")
    result = await create_dag(client, {"nodes": [
        node("search", search["id"], question="$context.question"),
        node("answer", other["id"], "search", passage="$nodes.search.passage")]})
    assert problems(result) == [...]                 # when it is a ValidationError
"""

from __future__ import annotations

from typing import Any

from tests.support.factories import create_program, errors, unique
from tests.support.http_client import GraphQLClient

DAG = """
fragment DagParts on Dag {
  id name description status version definition visibility createdAt updatedAt
  createdBy { id }
  nodes { name dependencies kind inputs maxRetries timeoutSeconds fanOut transform
          program { id name } }
  versions { version definition createdAt createdBy { id } }
}
"""


def dag_mutation(variables: str, call: str, *error_types: str) -> str:
    """A DAG mutation whose result is aliased `result`: the DAG's parts, or the error's (with
    the details of `error_types`, members of the mutation's result union)."""
    selection = f"__typename ...DagParts {errors(*error_types)}"
    return DAG + f"mutation{variables} {{ result: {call} {{ {selection} }} }}"


CREATE = dag_mutation("($input: CreateDagInput!)", "createDag(input: $input)", "ValidationError")
UPDATE = dag_mutation(
    "($id: ID!, $input: UpdateDagInput!)",
    "updateDag(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
GET = DAG + "query($id: ID!) { dag(id: $id) { __typename ...DagParts } }"
LIST = """query($filter: DagFilter, $orderBy: [DagOrder!], $first: Int! = 50, $after: String) {
  dags(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id name } } }"""


def node(name: str, program_id: str, *dependencies: str, **inputs: str) -> dict[str, Any]:
    """A PROGRAM node: `node("answer", id, "retrieve", passage="$nodes.retrieve.passage")`."""
    return {
        "name": name,
        "programId": program_id,
        "dependencies": list(dependencies),
        "inputs": inputs,
    }


async def one_node(client: GraphQLClient, spec: str = "question -> answer") -> dict[str, Any]:
    """A definition of one node, `ask`, running a new (DRAFT) program with this signature spec,
    each input from the run's context of the same name: `{"question": "$context.question"}`."""
    program = await create_program(client, ready=False, signatureSpec=spec)
    names = [part.split(":")[0].strip() for part in spec.split("->")[0].split(",")]
    return {"nodes": [node("ask", program["id"], **{n: f"$context.{n}" for n in names})]}


async def new_dag(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """A DRAFT DAG (of `one_node` unless `definition` is given), known to be created."""
    definition = fields.pop("definition", None) or await one_node(client)
    dag = await create_dag(client, definition, **fields)
    assert dag["__typename"] == "Dag", dag
    return dag


async def create_dag(
    client: GraphQLClient, definition: Any, name: str | None = None, **fields: Any
) -> dict[str, Any]:
    """`createDag`'s result, whatever its type; `fields` are more of CreateDagInput."""
    given = {"name": name or unique("dag"), "definition": definition} | fields
    result: dict[str, Any] = (await client.data(CREATE, input=given))["result"]
    return result


async def update_dag(client: GraphQLClient, id: str, **changes: Any) -> dict[str, Any]:
    """`updateDag`'s result, whatever its type."""
    result: dict[str, Any] = (await client.data(UPDATE, id=id, input=changes))["result"]
    return result


async def change(client: GraphQLClient, mutation: str, id: str) -> dict[str, Any]:
    """The result of `activateDag`, `archiveDag` or `deleteDag` (any `<mutation>(id: ID!)`)."""
    document = dag_mutation("($id: ID!)", f"{mutation}(id: $id)", "NotFoundError")
    result: dict[str, Any] = (await client.data(document, id=id))["result"]
    return result


async def get_dag(client: GraphQLClient, id: str) -> dict[str, Any] | None:
    dag: dict[str, Any] | None = (await client.data(GET, id=id))["dag"]
    return dag


async def list_dags(client: GraphQLClient, **arguments: Any) -> dict[str, Any]:
    """The `dags` connection: totalCount, pageInfo and nodes (id, name)."""
    connection: dict[str, Any] = (await client.data(LIST, **arguments))["dags"]
    return connection


def problems(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A ValidationError's field errors as (field, code, message), in the order reported."""
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "VALIDATION_FAILED", result
    return [(error["field"], error["code"], error["message"]) for error in result["fieldErrors"]]


def refused(result: dict[str, Any], typename: str, message: str) -> bool:
    """Whether a mutation's result is the error `typename` (ConflictError, ...) saying `message`."""
    return (result["__typename"], result["message"]) == (typename, message)

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    build_schema,
    get_introspection_query,
    get_named_type,
    lexicographic_sort_schema,
    print_schema,
)

from dspex_gql.graphql.schema import schema_sdl
from tests.support.http_client import GraphQLClient

EXPORTED = Path(__file__).parents[1] / "schema.graphql"


def test_the_exported_schema_is_the_live_schema() -> None:
    assert EXPORTED.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `dspex-gql export-schema -o schema.graphql`"
    )


def test_every_mutation_returns_a_result_union_named_after_it() -> None:
    mutation = build_schema(schema_sdl()).mutation_type
    assert mutation is not None

    for name, field in mutation.fields.items():
        result = get_named_type(field.type)
        assert isinstance(result, GraphQLUnionType), name
        assert result.name == f"{name[0].upper()}{name[1:]}Result"


async def test_the_standard_introspection_query_describes_the_exported_schema(
    client: GraphQLClient,
) -> None:
    """What GraphiQL's docs, `gql` and code generators ask the live URL for."""
    query = get_introspection_query(
        specified_by_url=True, directive_is_repeatable=True, input_value_deprecation=True
    )
    response = await client.execute(query)

    assert "errors" not in response, response.get("errors")
    live = build_client_schema(response["data"])
    exported = build_schema(EXPORTED.read_text())
    assert sdl(live) == sdl(exported)


def sdl(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))

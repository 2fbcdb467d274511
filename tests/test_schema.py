from __future__ import annotations

from pathlib import Path

from graphql import GraphQLUnionType, build_schema, get_named_type

from dspex_gql.graphql.schema import schema_sdl

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

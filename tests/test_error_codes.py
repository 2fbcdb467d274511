"""One code per error: the same in a result union's member and in a top-level error."""

from __future__ import annotations

import dspex_gql.app  # noqa: F401  (imports every module that defines a domain error)
from dspex_gql.errors import DomainError
from dspex_gql.graphql.errors import MAPPED
from tests.support.http_client import GraphQLClient

CREATE = """mutation($spec: String!) { createSignature(input: {name: "qa", spec: $spec}) {
    __typename ... on Error { code } } }"""
PARSE = """query($spec: String!) { parseSignature(spec: $spec) {
    __typename ... on Error { code } } }"""


class TestValidationFailures:
    async def test_have_one_code_in_results_and_at_top_level(self, client: GraphQLClient) -> None:
        created = (await client.data(CREATE, spec="a: list[ -> b"))["createSignature"]
        parsed = (await client.data(PARSE, spec="a: list[ -> b"))["parseSignature"]
        [listed] = await client.errors('{ programs(after: "not-a-cursor") { totalCount } }')

        assert created == {"__typename": "ValidationError", "code": "VALIDATION_FAILED"}
        assert parsed == {"__typename": "ValidationError", "code": "VALIDATION_FAILED"}
        assert listed["extensions"]["code"] == "VALIDATION_FAILED"

    async def test_of_a_whole_operation_have_that_code_too(self, client: GraphQLClient) -> None:
        [refused] = await client.errors(
            "query($name: String!) { signatures(filter: {name: {eq: $name}}) { totalCount } }",
            name="a\x00b",
        )

        assert refused["extensions"]["code"] == "VALIDATION_FAILED"
        assert refused["extensions"]["fieldErrors"][0]["field"] == "$name"


def test_every_domain_error_has_a_code() -> None:
    unmapped = [kind.__name__ for kind in _subclasses(DomainError) if not issubclass(kind, MAPPED)]

    assert unmapped == []


def _subclasses(kind: type[DomainError]) -> list[type[DomainError]]:
    direct = kind.__subclasses__()
    return [*direct, *(deeper for sub in direct for deeper in _subclasses(sub))]

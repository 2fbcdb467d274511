"""Requests of the wrong shape get a clear refusal, never an internal error: HTTP 400 with a
GraphQL-shaped body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.client import GraphQLClient

DEEP = b"[" * 1000 + b"]" * 1000
CREATE = 'mutation { createSignature(input: {name: "sent", spec: "q -> a"}) { __typename } }'
COUNT = "{ signatures { totalCount } }"
JSON = "application/json"


def malformed(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


NOT_AN_OBJECT = 'Expected a JSON object such as {"query": "..."}, not '

BODIES = {
    "nested 1,000 deep": (JSON, DEEP, "Malformed JSON: it is nested too deeply"),
    "variables nested 1,000 deep": (
        JSON,
        b'{"query": "{ me { id } }", "variables": {"v": ' + DEEP + b"}}",
        "Malformed JSON: it is nested too deeply",
    ),
    "null": (JSON, b"null", NOT_AN_OBJECT + "null"),
    "a bare string": (JSON, b'"{ me { id } }"', NOT_AN_OBJECT + "a string"),
    "an array": (JSON, b'[{"query": "{ me { id } }"}]', NOT_AN_OBJECT + "an array"),
    "invalid UTF-8": (JSON, b'{"query": "{ me { id } }\xff"}', "Malformed JSON: it is not UTF-8"),
    "a number too long": (
        JSON,
        b'{"query": "{ me { id } }", "variables": {"n": ' + b"9" * 5000 + b"}}",
        "Malformed JSON: Exceeds the limit (4300 digits) for integer string conversion: "
        "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
    ),
    "an empty body": (JSON, b"", "Malformed JSON: Expecting value at line 1 column 1"),
    "a plain-text body": (
        "text/plain",
        json.dumps({"query": CREATE}).encode(),
        "Unsupported content type: send Content-Type: application/json",
    ),
}


class TestMalformedBodies:
    @pytest.mark.parametrize("case", BODIES, ids=str)
    async def test_get_400_and_a_graphql_error(self, client: GraphQLClient, case: str) -> None:
        content_type, body, message = BODIES[case]
        headers = client.headers | {"content-type": content_type}

        response = await client.http.post("/graphql", content=body, headers=headers)

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == JSON
        assert response.json() == malformed(message)
        assert await client.data(COUNT) == {"signatures": {"totalCount": 0}}

    async def test_variables_of_a_get_request_too(self, client: GraphQLClient) -> None:
        params = {"query": "{ me { id } }", "variables": "[1]"}

        response = await client.http.get("/graphql", params=params, headers=client.headers)

        assert response.status_code == 400
        assert response.json() == malformed(NOT_AN_OBJECT + "an array")


class TestSubscriptionsOverHTTP:
    SUBSCRIPTION = (
        'subscription { executionUpdated(id: "00000000-0000-0000-0000-000000000000") { id } }'
    )
    NEED_A_WEBSOCKET = (
        "Subscriptions need a websocket: connect to this URL with the graphql-transport-ws protocol"
    )

    @pytest.mark.parametrize("signed_in", [True, False], ids=["signed in", "anonymous"])
    async def test_are_refused_with_400(self, client: GraphQLClient, signed_in: bool) -> None:
        sender = client if signed_in else client.acting_as(None)

        response = await sender.http.post(
            "/graphql", json={"query": self.SUBSCRIPTION}, headers=sender.headers
        )

        assert response.status_code == 400
        assert response.json() == malformed(self.NEED_A_WEBSOCKET)

    async def test_over_get_too(self, client: GraphQLClient) -> None:
        params = {"query": self.SUBSCRIPTION}

        response = await client.http.get("/graphql", params=params, headers=client.headers)

        assert response.status_code == 400
        assert response.json() == malformed(self.NEED_A_WEBSOCKET)

"""Requests and websocket messages of the wrong shape get a clear refusal, never an internal
error: HTTP 400 with a GraphQL-shaped body, close code 4400 on a websocket, 1009 for a websocket
message over the size limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.config import ServerSettings, Settings
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant
from tests.support.websocket_client import Socket

DEEP = b"[" * 1000 + b"]" * 1000
CREATE = 'mutation { createSignature(input: {name: "sent", spec: "q -> a"}) { __typename } }'
COUNT = "{ signatures { totalCount } }"
JSON = "application/json"


def malformed(message: str, request_id: str = "drill-400") -> dict[str, Any]:
    extensions = {"code": "BAD_REQUEST", "requestId": request_id}
    return {"errors": [{"message": message, "extensions": extensions}]}


def with_request_id(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"x-request-id": "drill-400"}


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
    "an unknown operation name with a lone surrogate": (
        JSON,
        b'{"query": "query A { me { id } }", "operationName": "\\ud800"}',
        'Unknown operation named "\ud800".',
    ),
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
        headers = with_request_id(client.headers | {"content-type": content_type})

        response = await client.http.post("/graphql", content=body, headers=headers)

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == JSON
        assert response.json() == malformed(message)
        assert await client.data(COUNT) == {"signatures": {"totalCount": 0}}

    async def test_variables_of_a_get_request_too(self, client: GraphQLClient) -> None:
        params = {"query": "{ me { id } }", "variables": "[1]"}

        headers = with_request_id(client.headers)
        response = await client.http.get("/graphql", params=params, headers=headers)

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
            "/graphql", json={"query": self.SUBSCRIPTION}, headers=with_request_id(sender.headers)
        )

        assert response.status_code == 400
        assert response.json() == malformed(self.NEED_A_WEBSOCKET)

    async def test_over_get_too(self, client: GraphQLClient) -> None:
        params = {"query": self.SUBSCRIPTION}

        headers = with_request_id(client.headers)
        response = await client.http.get("/graphql", params=params, headers=headers)

        assert response.status_code == 400
        assert response.json() == malformed(self.NEED_A_WEBSOCKET)


SUBSCRIBE_WITHOUT_QUERY = {
    "payload.query null": (
        {"id": "1", "type": "subscribe", "payload": {"query": None}},
        "payload.query must be a string (the GraphQL document)",
    ),
    "payload.query missing": (
        {"id": "1", "type": "subscribe", "payload": {"variables": {}}},
        "payload.query must be a string (the GraphQL document)",
    ),
    "payload.query a number": (
        {"id": "1", "type": "subscribe", "payload": {"query": 7}},
        "payload.query must be a string (the GraphQL document)",
    ),
    "payload null": (
        {"id": "1", "type": "subscribe", "payload": None},
        "The payload must be a JSON object with a query",
    ),
    "variables an array": (
        {"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": [1]}},
        "payload.variables must be a JSON object or null",
    ),
    "id a number": (
        {"id": 1, "type": "subscribe", "payload": {"query": "{ me { id } }"}},
        "A subscribe message needs a string id",
    ),
    "id missing from complete": ({"type": "complete"}, "A complete message needs a string id"),
    "a bare array": ([], "A message must be a JSON object"),
    "null": (None, "A message must be a JSON object"),
}


class TestMalformedWebsocketMessages:
    """graphql-transport-ws: "a message of a type or format which is not specified in this
    document will result in an immediate socket closure with the event 4400: <error-message>"."""

    @pytest.mark.parametrize("case", SUBSCRIBE_WITHOUT_QUERY, ids=str)
    async def test_close_the_socket_with_4400_and_a_reason(
        self, app: FastAPI, tenant: Tenant, case: str
    ) -> None:
        message, reason = SUBSCRIBE_WITHOUT_QUERY[case]

        async with Socket(app, tenant.admin_key) as socket:
            await socket.send_text(json.dumps(message))

            assert await socket.closed() == (4400, reason)

    async def test_json_nested_1000_deep(self, app: FastAPI, tenant: Tenant) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            await socket.send_text(DEEP.decode())

            assert await socket.closed() == (4400, "WebSocket message must be valid JSON")

    async def test_the_legacy_protocol_answers_with_an_error_for_the_operation(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        async with Socket(app, tenant.admin_key, protocol="graphql-ws") as socket:
            await socket.send({"id": "7", "type": "start", "payload": {"query": None}})

            assert await socket.receive() == {
                "id": "7",
                "type": "error",
                "payload": {"message": "payload.query must be a string (the GraphQL document)"},
            }


class TestOperationsOverWebsockets:
    """What Strawberry reports about an operation reaches the client, escaped and short enough
    for a close frame (at most 123 bytes), never as a bare `complete` or an internal error."""

    async def test_a_syntax_error_is_reported(self, app: FastAPI, tenant: Tenant) -> None:
        """Strawberry closes with 4400 and the syntax error as the reason; an `error` message
        for the operation would do as well. A bare `complete` (as before) does not."""
        async with Socket(app, tenant.admin_key) as socket:
            await socket.send({"id": "1", "type": "subscribe", "payload": {"query": "{ me {"}})
            event = await socket.next_event()

        if event["type"] == "websocket.close":
            assert event["code"] == 4400
            said = event["reason"]
        else:
            answer = json.loads(event["text"])
            assert answer["type"] == "error", answer
            said = answer["payload"][0]["message"]
        assert said == "Syntax Error: Expected Name, found <EOF>."

    async def test_a_long_close_reason_is_cut(self, app: FastAPI, tenant: Tenant) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            await socket.send({"type": "t" * 300})
            code, reason = await socket.closed()

        assert code == 4400
        assert reason.startswith("Unknown message type: ttt")
        assert reason.endswith("t…")
        assert len(reason.encode()) == 123

    async def test_an_unstorable_message_type_is_escaped_in_the_reason(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            await socket.send_text('{"type": "\\ud800"}')

            assert await socket.closed() == (4400, "Unknown message type: \\ud800")

    async def test_an_unknown_operation_name_is_a_bad_request(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        document = "query Mine { me { id } }"

        async with Socket(app, tenant.admin_key) as socket:
            await socket.send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": document, "operationName": "Other"},
                }
            )
            answer = await socket.receive()

        assert (answer["id"], answer["type"]) == ("1", "error")
        [error] = answer["payload"]
        assert error["message"] == 'Unknown operation named "Other".'
        assert error["extensions"]["code"] == "BAD_REQUEST"


class TestWebsocketMessageLimit:
    """The request body limit applies to websocket messages too (here 4 KiB)."""

    LIMIT = 4096

    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(
            database_url, server=ServerSettings(gc_freeze=False, max_body_bytes=self.LIMIT)
        )

    def subscribe(self, description: str) -> dict[str, Any]:
        query = """mutation($description: String!) { createSignature(input: {
            name: "big", spec: "q -> a", description: $description }) { __typename } }"""
        payload = {"query": query, "variables": {"description": description}}
        return {"id": "1", "type": "subscribe", "payload": payload}

    async def test_a_message_over_it_closes_the_socket_with_1009_unread(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        message = self.subscribe("é" * self.LIMIT)  # 4 Ki characters, 8 KiB of UTF-8

        async with Socket(app, tenant.admin_key) as socket:
            await socket.send(message)

            assert await socket.closed() == (
                1009,
                f"Message too big: the limit is {self.LIMIT} bytes",
            )
        assert await client.data(COUNT) == {"signatures": {"totalCount": 0}}

    async def test_a_message_within_it_runs(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        async with Socket(app, tenant.admin_key) as socket:
            messages = await socket.subscribe(
                self.subscribe("x" * 3000)["payload"]["query"], {"description": "x" * 3000}
            )

        assert messages[0]["payload"] == {"data": {"createSignature": {"__typename": "Signature"}}}
        assert await client.data(COUNT) == {"signatures": {"totalCount": 1}}

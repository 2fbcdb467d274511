"""Input the service cannot store — text with a lone surrogate or NUL (which PostgreSQL refuses),
JSON nested deeper than 200 levels — is refused as bad input wherever it appears in an
operation, before anything is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant
from tests.support.websocket_client import Socket

BAD_TEXT = {
    "lone surrogate": (r"\ud800", "a lone surrogate (U+D800)"),
    "NUL": (r"\u0000", "a NUL character (U+0000)"),
}
"""As JSON writes them: `json.dumps("\\ud800")` is the same escape, so this is what any client
sends for a Python, JavaScript or Java string holding that character."""

CHANGES = {
    "createApiKey.name": (
        "mutation($value: String!) { createApiKey(name: $value) { __typename } }",
        '"key {bad}"',
        "$value",
    ),
    "updateOrganization.name": (
        "mutation($value: String!) { updateOrganization(input: {name: $value}) { __typename } }",
        '"org {bad}"',
        "$value",
    ),
    "updateProgram.name": (
        "mutation($id: ID!, $value: String!) {"
        " updateProgram(id: $id, input: {name: $value}) { __typename } }",
        '"program {bad}"',
        "$value",
    ),
    "updateProgram.description": (
        "mutation($id: ID!, $value: String!) {"
        " updateProgram(id: $id, input: {description: $value}) { __typename } }",
        '"about {bad}"',
        "$value",
    ),
    "updateProgram.tags": (
        "mutation($id: ID!, $value: [String!]!) {"
        " updateProgram(id: $id, input: {tags: $value}) { __typename } }",
        '["fine", "tag {bad}"]',
        "$value[1]",
    ),
    "cloneProgram.name": (
        "mutation($id: ID!, $value: String!) {"
        " cloneProgram(id: $id, name: $value) { __typename } }",
        '"clone {bad}"',
        "$value",
    ),
}

EVERYTHING = """query($id: ID!) {
  organization { name }
  apiKeys { id name }
  programs { totalCount }
  program(id: $id) { name description tags configuration }
}"""


def raw_body(query: str, variables: str) -> bytes:
    """A request body written by hand, so the escapes are exactly the ones given."""
    return f'{{"query": {json.dumps(query)}, "variables": {variables}}}'.encode()


async def post(client: GraphQLClient, body: bytes) -> dict[str, Any]:
    headers = client.headers | {"content-type": "application/json"}
    response = await client.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def refused(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of an operation refused as a whole for bad input."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    return dict(error)


@pytest.fixture
async def program(client: GraphQLClient) -> dict[str, Any]:
    return await create_program(client, tags=["kept"], configuration={"temperature": 0.5})


async def everything(client: GraphQLClient, program: dict[str, Any]) -> dict[str, Any]:
    return await client.data(EVERYTHING, id=program["id"])


class TestUnstorableText:
    @pytest.mark.parametrize("bad", BAD_TEXT, ids=str)
    @pytest.mark.parametrize("change", CHANGES, ids=str)
    async def test_a_mutation_is_refused_and_changes_nothing(
        self, client: GraphQLClient, program: dict[str, Any], change: str, bad: str
    ) -> None:
        document, value, path = CHANGES[change]
        escape, problem = BAD_TEXT[bad]
        before = await everything(client, program)
        variables = f'{{"id": "{program["id"]}", "value": {value.format(bad=escape)}}}'

        error = refused(await post(client, raw_body(document, variables)))

        assert error["message"] == f"Invalid input at {path}: it contains {problem}"
        [field_error] = error["extensions"]["fieldErrors"]
        assert (field_error["field"], field_error["code"]) == (path, "invalid_text")
        assert await everything(client, program) == before

    async def test_a_literal_inside_a_json_argument(
        self, client: GraphQLClient, program: dict[str, Any]
    ) -> None:
        before = await everything(client, program)
        notes = '["ok", "\\u0000"]'
        document = (
            f'mutation {{ updateProgram(id: "{program["id"]}", input: {{configuration:'
            f" {{notes: {notes}}}}}) {{ __typename }} }}"
        )

        error = refused(await client.execute(document))

        assert error["extensions"]["fieldErrors"][0]["field"] == (
            "updateProgram.input.configuration.notes[1]"
        )
        assert await everything(client, program) == before

    async def test_a_key_inside_a_json_variable(
        self, client: GraphQLClient, program: dict[str, Any]
    ) -> None:
        before = await everything(client, program)
        document = (
            "mutation($id: ID!, $value: JSON!) {"
            " updateProgram(id: $id, input: {configuration: $value}) { __typename } }"
        )
        variables = f'{{"id": "{program["id"]}", "value": {{"nested": {{"a\\ud800": 1}}}}}}'

        error = refused(await post(client, raw_body(document, variables)))

        assert error["message"] == (
            "Invalid input at $value.nested.a\\ud800:"
            " it contains a lone surrogate (U+D800) in a key"
        )
        assert await everything(client, program) == before

    async def test_queries_are_checked_too(self, client: GraphQLClient) -> None:
        document = "query($name: String!) { programs(filter: {name: {eq: $name}}) { totalCount } }"

        error = refused(await post(client, raw_body(document, '{"name": "\\u0000"}')))

        assert error["extensions"]["fieldErrors"][0]["field"] == "$name"

    async def test_whole_characters_beyond_the_basic_plane_are_fine(
        self, client: GraphQLClient, program: dict[str, Any]
    ) -> None:
        """A surrogate *pair* is one character (here 😀): only a lone half is refused."""
        document = (
            "mutation($id: ID!, $value: String!) {"
            " updateProgram(id: $id, input: {name: $value}) { ... on Program { name } } }"
        )
        variables = f'{{"id": "{program["id"]}", "value": "caf\\u00e9 \\ud83d\\ude00"}}'

        body = await post(client, raw_body(document, variables))

        assert body == {"data": {"updateProgram": {"name": "café 😀"}}}


class TestDeepJSON:
    UPDATE = (
        "mutation($id: ID!, $value: JSON!) {"
        " updateProgram(id: $id, input: {configuration: $value}) { __typename } }"
    )

    @staticmethod
    def nested(depth: int) -> dict[str, Any]:
        """`{"deep": [[...[1]...]]}`, `depth` levels in all."""
        value: Any = 1
        for _ in range(depth - 1):
            value = [value]
        return {"deep": value}

    async def test_as_deep_as_typed_input_may_nest_is_stored(
        self, client: GraphQLClient, program: dict[str, Any]
    ) -> None:
        configuration = self.nested(200)

        body = await client.execute(self.UPDATE, id=program["id"], value=configuration)

        assert body == {"data": {"updateProgram": {"__typename": "Program"}}}
        stored = (await everything(client, program))["program"]["configuration"]
        assert stored == configuration

    async def test_deeper_is_refused_and_changes_nothing(
        self, client: GraphQLClient, program: dict[str, Any]
    ) -> None:
        before = await everything(client, program)

        body = await client.execute(self.UPDATE, id=program["id"], value=self.nested(500))

        error = refused(body)
        assert error["message"] == "Invalid input at $value: it is nested deeper than 200 levels"
        assert error["extensions"]["fieldErrors"][0]["code"] == "too_deep"
        assert await everything(client, program) == before


class TestOverWebsockets:
    async def test_a_subscription_with_unstorable_text_is_refused(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        document = "subscription($id: ID!) { executionUpdated(id: $id) { id } }"

        async with Socket(app, tenant.admin_key) as socket:
            messages = await socket.subscribe(document, {"id": "\x00"})

        [error] = [e for m in messages if m["type"] in {"next", "error"} for e in errors_of(m)]
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        assert error["message"] == "Invalid input at $id: it contains a NUL character (U+0000)"


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    payload = message["payload"]
    found: list[dict[str, Any]] = payload if isinstance(payload, list) else payload["errors"]
    return found

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.factories import SIGNATURE, create_program, create_signature, errors, unique
from tests.support.http_client import GraphQLClient

CREATE = (
    SIGNATURE
    + "mutation($input: CreateSignatureInput!) { createSignature(input: $input) {"
    + " __typename ...SignatureParts "
    + errors("ValidationError")
    + "} }"
)
UPDATE = (
    SIGNATURE
    + "mutation($id: ID!, $input: UpdateSignatureInput!) {"
    + " updateSignature(id: $id, input: $input) {"
    + " __typename ...SignatureParts "
    + errors("ValidationError", "NotFoundError")
    + "} }"
)


def transition(name: str) -> str:
    return (
        SIGNATURE
        + f"mutation($id: ID!) {{ {name}(id: $id) {{ __typename ...SignatureParts "
        + errors("NotFoundError")
        + "} }"
    )


async def create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = await client.data(CREATE, input={"name": unique("sig")} | fields)
    result: dict[str, Any] = data["createSignature"]
    return result


class TestCreateFromSpec:
    async def test_parses_typed_fields_and_defaults(self, client: GraphQLClient) -> None:
        signature = await create(
            client,
            spec="question, context: list[str] -> answer, confidence: float",
            description="QA over passages",
            instructions="Answer from the context only.",
        )

        assert signature["__typename"] == "Signature"
        assert signature["spec"] == (
            "question: str, context: list[str] -> answer: str, confidence: float"
        )
        assert signature["inputs"] == [
            {"name": "question", "type": "str", "description": None},
            {"name": "context", "type": "list[str]", "description": None},
        ]
        assert [f["type"] for f in signature["outputs"]] == ["str", "float"]
        assert signature["version"] == "1.0.0"
        assert signature["status"] == "DRAFT"
        assert signature["programCount"] == 0

    async def test_keeps_descriptions_and_literals(self, client: GraphQLClient) -> None:
        signature = await create(
            client, spec="text: str \"the review\" -> sentiment: Literal['pos', 'neg']"
        )

        assert signature["inputs"][0]["description"] == "the review"
        assert signature["outputs"][0]["type"] == "Literal['pos', 'neg']"

    async def test_from_explicit_fields(self, client: GraphQLClient) -> None:
        signature = await create(
            client,
            inputs=[{"name": "document", "description": "the text"}],
            outputs=[{"name": "summary"}, {"name": "keywords", "type": "list[str]"}],
        )

        assert signature["spec"] == 'document: str "the text" -> summary: str, keywords: list[str]'

    @pytest.mark.parametrize(
        ("spec", "code"),
        [
            ("question answer", "syntax"),
            ("question -> question", "duplicate"),
            ("question: tensor -> answer", "unknown_type"),
            ("-> answer", "required"),
            ("1st -> answer", "invalid_name"),
        ],
    )
    async def test_refuses_invalid_specs(self, client: GraphQLClient, spec: str, code: str) -> None:
        result = await create(client, spec=spec)

        assert result["__typename"] == "ValidationError"
        assert code in [error["code"] for error in result["fieldErrors"]]

    async def test_refuses_spec_and_fields_together(self, client: GraphQLClient) -> None:
        result = await create(
            client, spec="a -> b", inputs=[{"name": "a"}], outputs=[{"name": "b"}]
        )

        assert result["__typename"] == "ValidationError"
        assert result["fieldErrors"][0]["field"] == "spec"

    async def test_refuses_neither_spec_nor_fields(self, client: GraphQLClient) -> None:
        result = await create(client)

        assert result["__typename"] == "ValidationError"

    async def test_reports_every_bad_field_at_once(self, client: GraphQLClient) -> None:
        result = await create(client, name=" ", version="not a version!", spec="a ->")

        fields = {error["field"] for error in result["fieldErrors"]}
        assert {"name", "version", "spec"} <= fields

    async def test_name_and_version_are_unique(self, client: GraphQLClient) -> None:
        first = await create_signature(client)

        again = await create(client, name=first["name"], spec="x -> y")
        other_version = await create(client, name=first["name"], spec="x -> y", version="2.0.0")

        assert again["__typename"] == "ConflictError"
        assert "already exists" in again["message"]
        assert other_version["__typename"] == "Signature"

    async def test_wrong_input_types_are_refused_before_anything_runs(
        self, client: GraphQLClient
    ) -> None:
        errors = await client.errors(CREATE, input={"name": 42, "spec": ["a -> b"]})

        assert "String cannot represent" in errors[0]["message"]


class TestParseSignature:
    QUERY = """query($spec: String!) { parseSignature(spec: $spec) {
        __typename ... on ParsedSignature { spec inputs { name type } outputs { name } }
        ... on ValidationError { fieldErrors { field code message } } } }"""

    async def test_returns_the_canonical_form(self, client: GraphQLClient) -> None:
        data = await client.data(self.QUERY, spec="q,ctx:list[ str ]->a")

        parsed = data["parseSignature"]
        assert parsed["spec"] == "q: str, ctx: list[str] -> a: str"
        assert parsed["inputs"] == [
            {"name": "q", "type": "str"},
            {"name": "ctx", "type": "list[str]"},
        ]

    async def test_explains_what_is_wrong(self, client: GraphQLClient) -> None:
        data = await client.data(self.QUERY, spec="a: list[ -> b")

        result = data["parseSignature"]
        assert result["__typename"] == "ValidationError"
        assert result["fieldErrors"][0]["field"] == "spec"


class TestLifecycle:
    async def test_draft_to_active_to_deprecated(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)

        active = await client.data(transition("activateSignature"), id=signature["id"])
        deprecated = await client.data(transition("deprecateSignature"), id=signature["id"])

        assert active["activateSignature"]["status"] == "ACTIVE"
        assert deprecated["deprecateSignature"]["status"] == "DEPRECATED"

    @pytest.mark.parametrize(
        ("steps", "refused", "message"),
        [
            ([], "deprecateSignature", "Only active signatures can be deprecated"),
            (["activateSignature"], "activateSignature", "Only draft signatures can be activated"),
            (
                ["activateSignature", "deprecateSignature"],
                "activateSignature",
                "Only draft signatures can be activated",
            ),
            (
                ["activateSignature", "deprecateSignature"],
                "deprecateSignature",
                "Only active signatures can be deprecated",
            ),
        ],
    )
    async def test_other_transitions_conflict(
        self, client: GraphQLClient, steps: list[str], refused: str, message: str
    ) -> None:
        signature = await create_signature(client)
        for step in steps:
            await client.data(transition(step), id=signature["id"])

        result = (await client.data(transition(refused), id=signature["id"]))[refused]

        assert result["__typename"] == "ConflictError"
        assert result["message"] == message
        assert result["code"] == "CONFLICT"

    @pytest.mark.parametrize("name", ["activateSignature", "deprecateSignature", "deleteSignature"])
    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(
        self, client: GraphQLClient, name: str, id: str
    ) -> None:
        result = (await client.data(transition(name), id=id))[name]

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == id


class TestUpdate:
    async def test_a_draft_changes_freely(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)

        data = await client.data(
            UPDATE,
            id=signature["id"],
            input={"name": "renamed", "spec": "a, b: int -> c", "instructions": "Be brief."},
        )

        updated = data["updateSignature"]
        assert (updated["name"], updated["spec"]) == ("renamed", "a: str, b: int -> c: str")
        assert updated["instructions"] == "Be brief."
        assert updated["updatedAt"] >= signature["updatedAt"]

    async def test_only_outputs_may_change(self, client: GraphQLClient) -> None:
        signature = await create_signature(client, spec="q -> a")

        data = await client.data(UPDATE, id=signature["id"], input={"outputs": [{"name": "b"}]})

        assert data["updateSignature"]["spec"] == "q: str -> b: str"

    async def test_active_signatures_change_only_their_description(
        self, client: GraphQLClient
    ) -> None:
        signature = await create_signature(client)
        await client.data(transition("activateSignature"), id=signature["id"])

        described = await client.data(UPDATE, id=signature["id"], input={"description": "new"})
        refused = await client.data(UPDATE, id=signature["id"], input={"spec": "a -> z"})

        assert described["updateSignature"]["description"] == "new"
        assert refused["updateSignature"]["__typename"] == "ConflictError"

    async def test_deprecated_signatures_do_not_change(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)
        for step in ("activateSignature", "deprecateSignature"):
            await client.data(transition(step), id=signature["id"])

        result = await client.data(UPDATE, id=signature["id"], input={"description": "x"})

        assert result["updateSignature"]["__typename"] == "ConflictError"

    async def test_invalid_changes_leave_the_signature_as_it_was(
        self, client: GraphQLClient
    ) -> None:
        signature = await create_signature(client)

        result = await client.data(UPDATE, id=signature["id"], input={"name": None, "spec": "x"})
        after = await client.data(
            SIGNATURE + "query($id: ID!) { signature(id: $id) { __typename ...SignatureParts } }",
            id=signature["id"],
        )

        assert result["updateSignature"]["__typename"] == "ValidationError"
        assert after["signature"] == signature

    async def test_renaming_onto_another_signature_conflicts(self, client: GraphQLClient) -> None:
        first = await create_signature(client)
        second = await create_signature(client)

        result = await client.data(UPDATE, id=second["id"], input={"name": first["name"]})

        assert result["updateSignature"]["__typename"] == "ConflictError"


class TestDelete:
    async def test_an_unused_signature_is_deleted(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)

        result = await client.data(transition("deleteSignature"), id=signature["id"])
        after = await client.data(
            "query($id: ID!) { signature(id: $id) { id } }", id=signature["id"]
        )

        assert result["deleteSignature"]["id"] == signature["id"]
        assert after["signature"] is None

    async def test_refused_while_a_program_uses_it(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)
        await create_program(client, signatureSpec=None, signatureId=signature["id"])

        result = await client.data(transition("deleteSignature"), id=signature["id"])
        after = await client.data(
            "query($id: ID!) { signature(id: $id) { programCount programs { nodes { id } } } }",
            id=signature["id"],
        )

        assert result["deleteSignature"]["__typename"] == "ConflictError"
        assert "used by 1 program" in result["deleteSignature"]["message"]
        assert after["signature"]["programCount"] == 1
        assert len(after["signature"]["programs"]["nodes"]) == 1


class TestQueries:
    async def test_unknown_and_malformed_ids_read_as_null(self, client: GraphQLClient) -> None:
        for id in (str(uuid.uuid4()), "nope"):
            data = await client.data("query($id: ID!) { signature(id: $id) { id } }", id=id)
            assert data["signature"] is None

    async def test_filters_by_status_and_name(self, client: GraphQLClient) -> None:
        prefix = unique("filter")
        draft = await create_signature(client, name=f"{prefix}-draft")
        active = await create_signature(client, name=f"{prefix}-active")
        await client.data(transition("activateSignature"), id=active["id"])

        data = await client.data(
            """query($prefix: String!) {
                 active: signatures(filter: {name: {startsWith: $prefix}, status: {eq: ACTIVE}}) {
                   nodes { id } totalCount }
                 notActive: signatures(
                   filter: {name: {startsWith: $prefix}, not: {status: {eq: ACTIVE}}}) {
                   nodes { id } totalCount } }""",
            prefix=prefix,
        )

        assert [n["id"] for n in data["active"]["nodes"]] == [active["id"]]
        assert [n["id"] for n in data["notActive"]["nodes"]] == [draft["id"]]
        assert data["active"]["totalCount"] == data["notActive"]["totalCount"] == 1

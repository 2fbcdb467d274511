"""Creating a program, on a signature given by id or by spec, and the input that is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.programs.helpers import (
    CREATE,
    create,
    deprecated_signature,
    field_codes,
    get_program,
    inventory,
    listed_ids,
)
from tests.support.factories import SIGNATURE, create_program, create_signature, unique
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


class TestCreateWithSignatureId:
    async def test_binds_the_given_signature(self, client: GraphQLClient) -> None:
        signature = await create_signature(client, spec="text -> label")

        program = await create(client, signatureSpec=None, signatureId=signature["id"])

        assert program["__typename"] == "Program"
        assert program["signature"] == {
            "id": signature["id"],
            "spec": "text: str -> label: str",
            "status": "DRAFT",
        }

    async def test_defaults(self, client: GraphQLClient, tenant: Tenant) -> None:
        signature = await create_signature(client)

        program = await create(
            client, name="  qa  ", signatureSpec=None, signatureId=signature["id"]
        )

        assert program["name"] == "qa"
        assert program["description"] is None
        assert (program["type"], program["implementation"]) == ("PREDICT", None)
        assert (program["adapter"], program["status"], program["version"]) == ("mock", "DRAFT", 1)
        assert program["errorMessage"] is None
        assert program["visibility"] == "PRIVATE"
        assert program["tags"] == []
        assert program["configuration"] == program["performanceMetrics"] == {}
        assert program["parent"] is None
        assert program["children"] == []
        assert program["lastExecutedAt"] is None
        assert program["owner"]["email"] == tenant.admin_email

    async def test_owner_is_the_creator(self, client: GraphQLClient) -> None:
        program = await create_program(client, ready=False)

        data = await client.data(
            "query($id: ID!) { program(id: $id) { owner { id name role } } }", id=program["id"]
        )

        assert data["program"]["owner"] == {
            "id": program["owner"]["id"],
            "name": "Admin",
            "role": "ADMIN",
        }

    async def test_keeps_everything_given(self, client: GraphQLClient) -> None:
        program = await create(
            client,
            description="Answers questions",
            configuration={"temperature": 0.2, "model": "mock-2"},
            tags=["qa", "demo"],
            visibility="ORGANIZATION",
        )

        listed = await listed_ids(client)

        assert program["description"] == "Answers questions"
        assert program["configuration"] == {"temperature": 0.2, "model": "mock-2"}
        assert program["tags"] == ["qa", "demo"]
        assert program["visibility"] == "ORGANIZATION"
        assert listed == [program["id"]]
        assert await get_program(client, program["id"]) == program

    async def test_initialize_returns_a_ready_program(self, client: GraphQLClient) -> None:
        program = await create(client, initialize=True)

        assert program["status"] == "READY"
        assert program["errorMessage"] is None

    async def test_boundary_sizes_are_accepted(self, client: GraphQLClient) -> None:
        program = await create(client, name="n" * 200, tags=[f"t{i}" for i in range(50)])

        assert program["__typename"] == "Program"
        assert len(program["tags"]) == 50


class TestCreateWithSignatureSpec:
    async def test_creates_an_active_signature_named_by_the_canonical_spec(
        self, client: GraphQLClient
    ) -> None:
        program = await create(client, signatureSpec="question, context: list[str] -> answer")

        data = await client.data(
            SIGNATURE + "query($id: ID!) { signature(id: $id) { ...SignatureParts } }",
            id=program["signature"]["id"],
        )

        signature = data["signature"]
        canonical = "question: str, context: list[str] -> answer: str"
        assert (signature["name"], signature["spec"]) == (canonical, canonical)
        assert signature["status"] == "ACTIVE"
        assert signature["version"] == "1.0.0"
        assert signature["programCount"] == 1

    async def test_the_same_spec_written_differently_reuses_the_signature(
        self, client: GraphQLClient
    ) -> None:
        first = await create(client, signatureSpec="question->answer")
        second = await create(client, signatureSpec="question: str -> answer: str")

        after = await inventory(client)

        assert second["signature"]["id"] == first["signature"]["id"]
        assert after["signatures"]["totalCount"] == 1
        data = await client.data(
            "query($id: ID!) { signature(id: $id) { programCount } }", id=first["signature"]["id"]
        )
        assert data["signature"]["programCount"] == 2

    async def test_reuses_a_draft_signature_with_that_spec(self, client: GraphQLClient) -> None:
        draft = await create_signature(client, spec="question -> answer")

        program = await create(client, signatureSpec="question -> answer")

        assert program["signature"] == {
            "id": draft["id"],
            "spec": "question: str -> answer: str",
            "status": "DRAFT",
        }

    async def test_a_different_spec_gets_its_own_signature(self, client: GraphQLClient) -> None:
        first = await create(client, signatureSpec="question -> answer")
        second = await create(client, signatureSpec="question -> answer: int")

        assert second["signature"]["id"] != first["signature"]["id"]
        assert second["signature"]["spec"] == "question: str -> answer: int"

    async def test_a_deprecated_signature_with_that_spec_is_not_reused(
        self, client: GraphQLClient
    ) -> None:
        first = await create(client, signatureSpec="question -> answer")
        await client.data(
            "mutation($id: ID!) { deprecateSignature(id: $id) { __typename } }",
            id=first["signature"]["id"],
        )

        body = await client.execute(
            CREATE, input={"name": unique("program"), "signatureSpec": "question -> answer"}
        )

        assert not body.get("errors"), body
        program = body["data"]["result"]
        assert program["__typename"] == "Program"
        assert program["signature"]["id"] != first["signature"]["id"]
        assert program["signature"]["status"] == "ACTIVE"


class TestCreateRefusesBadInput:
    @pytest.mark.parametrize(
        ("fields", "field", "code"),
        [
            ({"name": ""}, "name", "required"),
            ({"name": "   "}, "name", "required"),
            ({"name": "n" * 201}, "name", "too_long"),
            ({"description": "d" * 10_001}, "description", "too_long"),
            ({"adapter": "openai"}, "adapter", "unknown"),
            ({"type": "CUSTOM", "implementation": "best_of_n"}, "implementation", "unknown"),
            ({"type": "CUSTOM"}, "implementation", "unknown"),
            ({"type": "PREDICT", "implementation": "majority_vote"}, "implementation", "invalid"),
            ({"type": "REACT", "implementation": "majority_vote"}, "implementation", "invalid"),
            ({"configuration": [{"temperature": 0.2}]}, "configuration", "type"),
            ({"configuration": "temperature=0.2"}, "configuration", "type"),
            ({"configuration": 3}, "configuration", "type"),
            ({"tags": [f"t{i}" for i in range(51)]}, "tags", "too_many"),
            ({"tags": ["ok", ""]}, "tags", "invalid"),
            ({"tags": ["  "]}, "tags", "invalid"),
            ({"tags": ["t" * 65]}, "tags", "invalid"),
            ({"signatureSpec": None}, "signatureId", "required"),
            ({"signatureId": str(uuid.uuid4())}, "signatureId", "required"),
            ({"signatureSpec": "question answer"}, "signatureSpec", "syntax"),
            ({"signatureSpec": "question -> question"}, "signatureSpec", "duplicate"),
            ({"signatureSpec": "question: tensor -> answer"}, "signatureSpec", "unknown_type"),
        ],
    )
    async def test_names_the_bad_field_and_creates_nothing(
        self, client: GraphQLClient, fields: dict[str, Any], field: str, code: str
    ) -> None:
        await create_program(client, ready=False)
        before = await inventory(client)

        result = await create(client, **fields)

        assert field_codes(result) == {field: code}
        assert await inventory(client) == before

    async def test_unknown_adapter_lists_the_available_ones(self, client: GraphQLClient) -> None:
        result = await create(client, adapter="openai")

        message = result["fieldErrors"][0]["message"]
        assert message == "unknown adapter 'openai'; available: dspy, mock"

    async def test_unknown_implementation_lists_the_available_ones(
        self, client: GraphQLClient
    ) -> None:
        result = await create(client, type="CUSTOM", implementation="best_of_n")

        assert "available: majority_vote" in result["fieldErrors"][0]["message"]

    async def test_reports_every_bad_field_at_once(self, client: GraphQLClient) -> None:
        before = await inventory(client)

        result = await create(
            client, name="", adapter="nope", configuration=[], tags=[""], implementation="x"
        )

        assert set(field_codes(result)) == {
            "name",
            "adapter",
            "configuration",
            "tags",
            "implementation",
        }
        assert await inventory(client) == before

    async def test_a_deprecated_signature_is_refused(self, client: GraphQLClient) -> None:
        signature_id = await deprecated_signature(client)
        before = await inventory(client)

        result = await create(client, signatureSpec=None, signatureId=signature_id)

        assert field_codes(result) == {"signatureId": "deprecated"}
        assert await inventory(client) == before

    @pytest.mark.parametrize("signature_id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_an_unknown_signature_is_not_found(
        self, client: GraphQLClient, signature_id: str
    ) -> None:
        before = await inventory(client)

        result = await create(client, signatureSpec=None, signatureId=signature_id)

        assert result["__typename"] == "NotFoundError"
        assert (result["code"], result["id"]) == ("NOT_FOUND", signature_id)
        assert result["message"] == "Signature not found"
        assert await inventory(client) == before

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"type": "BANANA"}, "ProgramType"),
            ({"visibility": "PUBLIC"}, "Visibility"),
            ({"name": 42}, "String cannot represent"),
            ({"tags": [1]}, "String cannot represent"),
            ({"initialize": "yes"}, "Boolean cannot represent"),
        ],
    )
    async def test_wrong_types_are_refused_before_anything_runs(
        self, client: GraphQLClient, fields: dict[str, Any], message: str
    ) -> None:
        before = await inventory(client)

        found = await client.errors(
            CREATE, input={"name": unique("program"), "signatureSpec": "a -> b"} | fields
        )

        assert message in found[0]["message"]
        assert await inventory(client) == before

    async def test_a_missing_name_is_refused_before_anything_runs(
        self, client: GraphQLClient
    ) -> None:
        before = await inventory(client)

        found = await client.errors(CREATE, input={"signatureSpec": "a -> b"})

        assert "name" in found[0]["message"]
        assert await inventory(client) == before

"""Updating a program, and what sends it back to draft."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.programs.helpers import (
    UPDATE,
    archive,
    deprecated_signature,
    field_codes,
    get_program,
    initialize,
    inventory,
    update,
)
from tests.support.factories import create_program, create_signature, execute
from tests.support.http_client import GraphQLClient


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


class TestUpdate:
    async def test_descriptive_changes_keep_a_ready_program_ready(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client)

        result = await update(
            client,
            program["id"],
            name="  renamed  ",
            description="new words",
            tags=["a", "b"],
            visibility="ORGANIZATION",
        )

        assert result["status"] == "READY"
        assert (result["name"], result["description"]) == ("renamed", "new words")
        assert (result["tags"], result["visibility"]) == (["a", "b"], "ORGANIZATION")
        assert result["createdAt"] == program["createdAt"]
        assert instant(result["updatedAt"]) >= instant(program["updatedAt"])
        assert await get_program(client, program["id"]) == result

    async def test_resending_the_same_runtime_values_keeps_it_ready(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client, configuration={"temperature": 0.5})

        result = await update(
            client,
            program["id"],
            adapter="mock",
            type="PREDICT",
            implementation=None,
            configuration={"temperature": 0.5},
            signatureId=program["signature"]["id"],
        )

        assert result["status"] == "READY"

    async def test_an_empty_update_changes_nothing(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        result = await update(client, program["id"])

        assert result == program | {"updatedAt": result["updatedAt"]}
        assert result["status"] == "READY"

    async def test_omitted_fields_are_left_alone(self, client: GraphQLClient) -> None:
        program = await create_program(
            client, description="kept", tags=["kept"], configuration={"temperature": 0.5}
        )

        result = await update(client, program["id"], name="only the name")

        assert result["name"] == "only the name"
        assert (result["description"], result["tags"]) == ("kept", ["kept"])
        assert result["configuration"] == {"temperature": 0.5}

    async def test_description_can_be_cleared(self, client: GraphQLClient) -> None:
        program = await create_program(client, description="old")

        result = await update(client, program["id"], description=None)

        assert (result["description"], result["status"]) == (None, "READY")

    @pytest.mark.parametrize(
        "changes",
        [
            {"configuration": {"temperature": 0.9}},
            {"type": "CHAIN_OF_THOUGHT"},
            {"type": "CUSTOM", "implementation": "majority_vote"},
            {"signatureSpec": "question -> answer, confidence: float"},
        ],
    )
    async def test_runtime_changes_send_a_ready_program_back_to_draft(
        self, client: GraphQLClient, changes: dict[str, Any]
    ) -> None:
        program = await create_program(client)

        result = await update(client, program["id"], **changes)

        assert (result["status"], result["errorMessage"]) == ("DRAFT", None)
        assert (await initialize(client, program["id"]))["status"] == "READY"

    async def test_a_new_signature_id_sends_a_ready_program_back_to_draft(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client)
        signature = await create_signature(client, spec="text -> label")

        result = await update(client, program["id"], signatureId=signature["id"])

        assert result["status"] == "DRAFT"
        assert result["signature"]["id"] == signature["id"]

    async def test_signature_spec_rebinds_to_an_existing_signature(
        self, client: GraphQLClient
    ) -> None:
        other = await create_program(client, signatureSpec="text -> label")
        program = await create_program(client)

        result = await update(client, program["id"], signatureSpec="text: str->label: str")

        assert result["signature"]["id"] == other["signature"]["id"]
        assert (await inventory(client))["signatures"]["totalCount"] == 2

    async def test_signature_spec_rebinds_to_a_new_signature(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        result = await update(client, program["id"], signatureSpec="text, lang -> label")

        assert result["signature"]["id"] != program["signature"]["id"]
        assert result["signature"]["spec"] == "text: str, lang: str -> label: str"
        assert result["signature"]["status"] == "ACTIVE"
        await initialize(client, program["id"])
        execution = await execute(
            client, program["id"], inputs={"text": "hello", "lang": "en"}, wait=True
        )
        assert execution["status"] == "COMPLETED", execution
        assert set(execution["outputs"]) == {"label"}

    async def test_a_custom_program_becomes_predict_when_its_implementation_is_cleared(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client, type="CUSTOM", implementation="majority_vote")

        kept = await update(client, program["id"], type="PREDICT")
        cleared = await update(client, program["id"], type="PREDICT", implementation=None)

        assert field_codes(kept) == {"implementation": "invalid"}
        assert (cleared["type"], cleared["implementation"]) == ("PREDICT", None)
        assert cleared["status"] == "DRAFT"

    @pytest.mark.parametrize(
        ("changes", "field", "code"),
        [
            ({"name": ""}, "name", "required"),
            ({"name": None}, "name", "required"),
            ({"name": "n" * 201}, "name", "too_long"),
            ({"adapter": "openai"}, "adapter", "unknown"),
            ({"implementation": "majority_vote"}, "implementation", "invalid"),
            ({"type": "CUSTOM"}, "implementation", "unknown"),
            ({"type": "CUSTOM", "implementation": "best_of_n"}, "implementation", "unknown"),
            ({"configuration": ["temperature", 0.2]}, "configuration", "type"),
            ({"configuration": "temperature=0.2"}, "configuration", "type"),
            ({"configuration": None}, "configuration", "type"),
            ({"tags": [f"t{i}" for i in range(51)]}, "tags", "too_many"),
            ({"tags": [""]}, "tags", "invalid"),
            ({"signatureSpec": "question answer"}, "signatureSpec", "syntax"),
            ({"signatureId": None}, "signatureId", "required"),
            (
                {"signatureId": str(uuid.uuid4()), "signatureSpec": "a -> b"},
                "signatureId",
                "required",
            ),
        ],
    )
    async def test_invalid_changes_leave_the_program_as_it_was(
        self, client: GraphQLClient, changes: dict[str, Any], field: str, code: str
    ) -> None:
        program = await create_program(client, tags=["kept"], configuration={"temperature": 0.5})
        before = await inventory(client)

        result = await update(client, program["id"], **changes)

        assert field_codes(result) == {field: code}
        assert await get_program(client, program["id"]) == program
        assert await inventory(client) == before

    @pytest.mark.parametrize("field", ["type", "visibility", "tags"])
    async def test_null_for_a_required_field_is_a_validation_error(
        self, client: GraphQLClient, field: str
    ) -> None:
        program = await create_program(client)

        body = await client.execute(UPDATE, id=program["id"], input={field: None})

        assert not body.get("errors"), body
        assert field in field_codes(body["data"]["result"])
        assert await get_program(client, program["id"]) == program

    async def test_a_deprecated_signature_is_refused(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        signature_id = await deprecated_signature(client, spec="text -> label")

        result = await update(client, program["id"], signatureId=signature_id)

        assert field_codes(result) == {"signatureId": "deprecated"}
        assert await get_program(client, program["id"]) == program

    @pytest.mark.parametrize("signature_id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_an_unknown_signature_is_not_found(
        self, client: GraphQLClient, signature_id: str
    ) -> None:
        program = await create_program(client)

        result = await update(client, program["id"], signatureId=signature_id)

        assert result["__typename"] == "NotFoundError"
        assert (result["id"], result["message"]) == (signature_id, "Signature not found")
        assert await get_program(client, program["id"]) == program

    @pytest.mark.parametrize("changes", [{"name": "renamed"}, {"configuration": {"a": 1}}])
    async def test_an_archived_program_conflicts(
        self, client: GraphQLClient, changes: dict[str, Any]
    ) -> None:
        program = await create_program(client)
        archived = await archive(client, program["id"])

        result = await update(client, program["id"], **changes)

        assert result["__typename"] == "ConflictError"
        assert result["message"] == "Archived programs cannot be changed"
        assert await get_program(client, program["id"]) == archived

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await update(client, id, name="renamed")

        assert result["__typename"] == "NotFoundError"
        assert (result["id"], result["message"]) == (id, "Program not found")

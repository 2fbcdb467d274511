from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from tests.support.factories import (
    PROGRAM,
    SIGNATURE,
    create_program,
    create_signature,
    errors,
    execute,
    unique,
)
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


def mutation(variables: str, call: str, *error_types: str) -> str:
    """A program mutation whose result is aliased `result`, with its union's error members."""
    return (
        PROGRAM
        + f"mutation{variables} {{ result: {call} {{ __typename ...ProgramParts "
        + errors(*error_types)
        + "} }"
    )


CREATE = mutation(
    "($input: CreateProgramInput!)",
    "createProgram(input: $input)",
    "ValidationError",
    "NotFoundError",
)
UPDATE = mutation(
    "($id: ID!, $input: UpdateProgramInput!)",
    "updateProgram(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
INITIALIZE = mutation("($id: ID!)", "initializeProgram(id: $id)", "NotFoundError")
CLONE = mutation(
    "($id: ID!, $name: String!)",
    "cloneProgram(id: $id, name: $name)",
    "ValidationError",
    "NotFoundError",
)
ARCHIVE = mutation("($id: ID!)", "archiveProgram(id: $id)", "NotFoundError")
UPDATE_METRICS = mutation(
    "($id: ID!, $metrics: JSON!)",
    "updateProgramMetrics(id: $id, metrics: $metrics)",
    "ValidationError",
    "NotFoundError",
)
PROGRAM_QUERY = PROGRAM + "query($id: ID!) { program(id: $id) { __typename ...ProgramParts } }"
STATS_QUERY = """query($id: ID!) { program(id: $id) {
    stats { executionCount completedCount failedCount successRate averageDurationMs
            totalCost totalTokens }
    lastExecutedAt } }"""
INVENTORY = """{
    programs(first: 1000) { totalCount nodes { id } }
    signatures(first: 1000) { totalCount nodes { id spec status } } }"""


async def run(client: GraphQLClient, document: str, **variables: Any) -> dict[str, Any]:
    """The `result` of a mutation built by `mutation()`, whatever its type."""
    data = await client.data(document, **variables)
    result: dict[str, Any] = data["result"]
    return result


async def create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"name": unique("program"), "signatureSpec": "question -> answer"} | fields
    return await run(client, CREATE, input={k: v for k, v in given.items() if v is not None})


async def update(client: GraphQLClient, id: str, **changes: Any) -> dict[str, Any]:
    return await run(client, UPDATE, id=id, input=changes)


async def initialize(client: GraphQLClient, id: str) -> dict[str, Any]:
    return await run(client, INITIALIZE, id=id)


async def archive(client: GraphQLClient, id: str) -> dict[str, Any]:
    return await run(client, ARCHIVE, id=id)


async def get_program(client: GraphQLClient, id: str) -> dict[str, Any] | None:
    data = await client.data(PROGRAM_QUERY, id=id)
    program: dict[str, Any] | None = data["program"]
    return program


async def inventory(client: GraphQLClient) -> dict[str, Any]:
    """Every listed program and signature of the organization."""
    return await client.data(INVENTORY)


async def listed_ids(client: GraphQLClient, filter: dict[str, Any] | None = None) -> list[str]:
    data = await client.data(
        "query($filter: ProgramFilter) { programs(filter: $filter) { nodes { id } } }",
        filter=filter,
    )
    return [node["id"] for node in data["programs"]["nodes"]]


async def deprecated_signature(client: GraphQLClient, spec: str = "question -> answer") -> str:
    signature = await create_signature(client, spec=spec)
    for step in ("activateSignature", "deprecateSignature"):
        await client.data(
            f"mutation($id: ID!) {{ {step}(id: $id) {{ __typename }} }}", id=signature["id"]
        )
    return str(signature["id"])


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def field_codes(result: dict[str, Any]) -> dict[str, str]:
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "VALIDATION_FAILED"
    return {error["field"]: error["code"] for error in result["fieldErrors"]}


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


class TestProgramTypes:
    @pytest.mark.parametrize(
        ("type", "extra_outputs"),
        [
            ("PREDICT", set()),
            ("CHAIN_OF_THOUGHT", {"reasoning"}),
            ("REACT", {"trajectory"}),
        ],
    )
    async def test_each_type_initializes_and_runs(
        self, client: GraphQLClient, type: str, extra_outputs: set[str]
    ) -> None:
        program = await create(client, type=type, initialize=True)

        execution = await execute(client, program["id"], wait=True)

        assert program["type"] == type
        assert program["implementation"] is None
        assert program["status"] == "READY"
        assert execution["status"] == "COMPLETED"
        assert set(execution["outputs"]) == {"answer"} | extra_outputs

    async def test_custom_names_a_registered_implementation(self, client: GraphQLClient) -> None:
        program = await create(
            client, type="CUSTOM", implementation="majority_vote", initialize=True
        )

        assert (program["type"], program["implementation"]) == ("CUSTOM", "majority_vote")
        assert program["status"] == "READY"


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

        assert result["fieldErrors"][0]["message"] == "unknown adapter 'openai'; available: mock"

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


class TestInitialize:
    async def test_a_draft_becomes_ready(self, client: GraphQLClient) -> None:
        program = await create_program(client, ready=False)

        result = await initialize(client, program["id"])

        assert (result["status"], result["errorMessage"]) == ("READY", None)
        assert (await get_program(client, program["id"]) or {})["status"] == "READY"

    @pytest.mark.parametrize(
        ("configuration", "problem"),
        [
            ({"latency_ms": -5}, "latency_ms must be a number >= 0"),
            ({"fail_rate": 2}, "fail_rate must be between 0 and 1"),
            ({"fail_rate": -0.1}, "fail_rate must be between 0 and 1"),
            ({"fail_seed": 1.5}, "fail_seed must be an integer"),
            ({"fail_on": "boom"}, "fail_on must be an object"),
            ({"model": ""}, "model must be a non-empty string"),
            ({"prompt_price_per_1k": -1}, "prompt_price_per_1k must be a number >= 0"),
            ({"completion_price_per_1k": "1"}, "completion_price_per_1k must be a number >= 0"),
        ],
    )
    async def test_configuration_problems_end_in_error(
        self, client: GraphQLClient, configuration: dict[str, Any], problem: str
    ) -> None:
        program = await create_program(client, ready=False, configuration=configuration)

        result = await initialize(client, program["id"])

        assert result["status"] == "ERROR"
        assert result["errorMessage"] == f"configuration: {problem}"

    @pytest.mark.parametrize("samples", [0, 16, "3"])
    async def test_a_custom_implementation_checks_its_configuration(
        self, client: GraphQLClient, samples: Any
    ) -> None:
        program = await create(
            client,
            type="CUSTOM",
            implementation="majority_vote",
            configuration={"samples": samples},
            initialize=True,
        )

        assert program["status"] == "ERROR"
        assert program["errorMessage"] == (
            "configuration: samples must be an integer between 1 and 15"
        )

    async def test_every_problem_is_named(self, client: GraphQLClient) -> None:
        program = await create(
            client, configuration={"latency_ms": -5, "fail_rate": 2}, initialize=True
        )

        assert program["status"] == "ERROR"
        assert "latency_ms must be a number >= 0" in program["errorMessage"]
        assert "fail_rate must be between 0 and 1" in program["errorMessage"]

    async def test_create_with_initialize_reports_problems_as_an_error_status(
        self, client: GraphQLClient
    ) -> None:
        program = await create(client, configuration={"fail_rate": 2}, initialize=True)

        assert program["__typename"] == "Program"
        assert program["status"] == "ERROR"
        assert await listed_ids(client) == [program["id"]]

    async def test_a_deprecated_signature_ends_in_error(self, client: GraphQLClient) -> None:
        signature = await create_signature(client)
        await client.data(
            "mutation($id: ID!) { activateSignature(id: $id) { __typename } }", id=signature["id"]
        )
        program = await create_program(
            client, ready=False, signatureSpec=None, signatureId=signature["id"]
        )
        await client.data(
            "mutation($id: ID!) { deprecateSignature(id: $id) { __typename } }", id=signature["id"]
        )

        result = await initialize(client, program["id"])

        assert result["status"] == "ERROR"
        assert result["errorMessage"] == "its signature is deprecated"

    async def test_an_error_is_fixed_by_updating_then_initializing_again(
        self, client: GraphQLClient
    ) -> None:
        program = await create(client, configuration={"latency_ms": -5}, initialize=True)

        fixed = await update(client, program["id"], configuration={"latency_ms": 0})
        ready = await initialize(client, program["id"])

        assert program["status"] == "ERROR"
        assert (fixed["status"], fixed["errorMessage"]) == ("DRAFT", None)
        assert (ready["status"], ready["errorMessage"]) == ("READY", None)

    async def test_an_error_stays_an_error_until_fixed(self, client: GraphQLClient) -> None:
        program = await create(client, configuration={"fail_rate": 2}, initialize=True)

        again = await initialize(client, program["id"])

        assert again["status"] == "ERROR"
        assert again["errorMessage"] == program["errorMessage"]

    async def test_a_ready_program_initialized_again_stays_ready(
        self, client: GraphQLClient
    ) -> None:
        program = await create_program(client)

        again = await initialize(client, program["id"])

        assert (again["status"], again["errorMessage"]) == ("READY", None)

    @pytest.mark.parametrize("configuration", [{}, {"fail_rate": 2}])
    async def test_only_ready_programs_execute(
        self, client: GraphQLClient, configuration: dict[str, Any]
    ) -> None:
        program = await create(client, configuration=configuration, initialize=bool(configuration))

        result = await execute(client, program["id"])

        assert program["status"] in ("DRAFT", "ERROR")
        assert result["__typename"] == "ConflictError"
        assert "only READY programs can be executed" in result["message"]

    async def test_an_archived_program_conflicts(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await archive(client, program["id"])

        result = await initialize(client, program["id"])

        assert result["__typename"] == "ConflictError"
        assert result["code"] == "CONFLICT"
        assert (await get_program(client, program["id"]) or {})["status"] == "ARCHIVED"

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await initialize(client, id)

        assert result["__typename"] == "NotFoundError"
        assert (result["id"], result["message"]) == (id, "Program not found")


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


class TestClone:
    async def test_a_draft_child_with_the_original_as_parent(self, client: GraphQLClient) -> None:
        original = await create_program(
            client,
            type="CUSTOM",
            implementation="majority_vote",
            description="votes",
            configuration={"samples": 5, "temperature": 0.3},
            tags=["qa"],
            visibility="ORGANIZATION",
        )
        await run(client, UPDATE_METRICS, id=original["id"], metrics={"accuracy": 0.9})

        clone = await run(client, CLONE, id=original["id"], name="  copy  ")
        parent = await get_program(client, original["id"]) or {}

        assert clone["id"] != original["id"]
        assert (clone["name"], clone["status"], clone["version"]) == ("copy", "DRAFT", 1)
        assert clone["parent"] == {"id": original["id"]}
        assert parent["children"] == [{"id": clone["id"]}]
        assert parent["status"] == "READY"
        copied = ("type", "implementation", "adapter", "description", "configuration", "tags")
        for field in (*copied, "visibility", "signature"):
            assert clone[field] == original[field], field
        assert clone["performanceMetrics"] == {}
        assert clone["children"] == []
        assert clone["owner"] == original["owner"]

    async def test_the_clone_changes_independently(self, client: GraphQLClient) -> None:
        original = await create_program(client, configuration={"temperature": 0.3})
        clone = await run(client, CLONE, id=original["id"], name="copy")

        await update(client, clone["id"], configuration={"temperature": 0.9}, tags=["x"])

        assert await get_program(client, original["id"]) == original | {
            "children": [{"id": clone["id"]}]
        }

    async def test_children_are_listed_in_creation_order(self, client: GraphQLClient) -> None:
        original = await create_program(client)
        first = await run(client, CLONE, id=original["id"], name="first")
        second = await run(client, CLONE, id=original["id"], name="second")
        grandchild = await run(client, CLONE, id=first["id"], name="grandchild")

        parent = await get_program(client, original["id"]) or {}
        child = await get_program(client, first["id"]) or {}

        assert parent["children"] == [{"id": first["id"]}, {"id": second["id"]}]
        assert child["children"] == [{"id": grandchild["id"]}]
        assert grandchild["parent"] == {"id": first["id"]}

    @pytest.mark.parametrize(
        ("name", "code"), [("", "required"), (" ", "required"), ("n" * 201, "too_long")]
    )
    async def test_a_bad_name_is_refused(self, client: GraphQLClient, name: str, code: str) -> None:
        original = await create_program(client)
        before = await inventory(client)

        result = await run(client, CLONE, id=original["id"], name=name)

        assert field_codes(result) == {"name": code}
        assert await inventory(client) == before
        assert await get_program(client, original["id"]) == original

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await run(client, CLONE, id=id, name="copy")

        assert result["__typename"] == "NotFoundError"
        assert (result["id"], result["message"]) == (id, "Program not found")
        assert (await inventory(client))["programs"]["totalCount"] == 0


class TestArchive:
    async def test_archived_programs_are_hidden_unless_asked_for_by_status(
        self, client: GraphQLClient
    ) -> None:
        kept = await create_program(client)
        program = await create_program(client)

        result = await archive(client, program["id"])

        assert result["status"] == "ARCHIVED"
        assert await listed_ids(client) == [kept["id"]]
        assert await listed_ids(client, {"status": {"eq": "ARCHIVED"}}) == [program["id"]]
        assert await listed_ids(client, {"status": {"in": ["ARCHIVED", "READY"]}}) == [
            program["id"],
            kept["id"],
        ]
        assert await get_program(client, program["id"]) == result

    async def test_a_draft_can_be_archived(self, client: GraphQLClient) -> None:
        program = await create_program(client, ready=False)

        result = await archive(client, program["id"])

        assert result["status"] == "ARCHIVED"

    async def test_archiving_twice_conflicts(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await archive(client, program["id"])

        result = await archive(client, program["id"])

        assert result["__typename"] == "ConflictError"
        assert result["code"] == "CONFLICT"

    async def test_an_archived_program_does_not_execute(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await archive(client, program["id"])

        result = await execute(client, program["id"])

        assert result["__typename"] == "ConflictError"
        assert "ARCHIVED" in result["message"]
        stats = await client.data(STATS_QUERY, id=program["id"])
        assert stats["program"]["stats"]["executionCount"] == 0

    async def test_executions_are_kept(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        execution = await execute(client, program["id"], wait=True)
        await archive(client, program["id"])

        data = await client.data(
            """query($id: ID!) { program(id: $id) { status stats { executionCount }
                 executions { nodes { id } } } }""",
            id=program["id"],
        )

        assert data["program"] == {
            "status": "ARCHIVED",
            "stats": {"executionCount": 1},
            "executions": {"nodes": [{"id": execution["id"]}]},
        }

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await archive(client, id)

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == id


class TestUpdateMetrics:
    async def test_two_calls_merge_shallowly(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        await run(
            client,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"accuracy": 0.8, "latency": {"p50": 10}},
        )
        result = await run(
            client,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"f1": 0.7, "latency": {"p95": 20}},
        )

        assert result["performanceMetrics"] == {
            "accuracy": 0.8,
            "f1": 0.7,
            "latency": {"p95": 20},
        }
        assert result["status"] == "READY"
        stored = await get_program(client, program["id"]) or {}
        assert stored["performanceMetrics"] == result["performanceMetrics"]

    async def test_a_null_value_removes_the_key(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8, "f1": 0.7})

        result = await run(
            client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": None, "absent": None}
        )

        assert result["performanceMetrics"] == {"f1": 0.7}

    @pytest.mark.parametrize("metrics", [[{"accuracy": 0.8}], "accuracy=0.8", 0.8])
    async def test_a_non_object_is_refused(self, client: GraphQLClient, metrics: Any) -> None:
        program = await create_program(client)
        await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8})
        before = await get_program(client, program["id"])

        result = await run(client, UPDATE_METRICS, id=program["id"], metrics=metrics)

        assert field_codes(result) == {"metrics": "type"}
        assert await get_program(client, program["id"]) == before

    async def test_an_archived_program_conflicts(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        archived = await archive(client, program["id"])

        result = await run(client, UPDATE_METRICS, id=program["id"], metrics={"accuracy": 0.8})

        assert result["__typename"] == "ConflictError"
        assert await get_program(client, program["id"]) == archived

    @pytest.mark.parametrize("id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_ids_are_not_found(self, client: GraphQLClient, id: str) -> None:
        result = await run(client, UPDATE_METRICS, id=id, metrics={"accuracy": 0.8})

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == id


class TestStats:
    async def test_a_program_without_executions(self, client: GraphQLClient) -> None:
        program = await create_program(client)

        data = await client.data(STATS_QUERY, id=program["id"])

        assert data["program"] == {
            "stats": {
                "executionCount": 0,
                "completedCount": 0,
                "failedCount": 0,
                "successRate": 0.0,
                "averageDurationMs": None,
                "totalCost": 0.0,
                "totalTokens": 0,
            },
            "lastExecutedAt": None,
        }

    async def test_counts_costs_and_tokens_of_executions(self, client: GraphQLClient) -> None:
        program = await create_program(
            client,
            configuration={
                "fail_on": {"question": "boom"},
                "prompt_price_per_1k": 0.5,
                "completion_price_per_1k": 1.5,
            },
        )
        executions = [
            await execute(client, program["id"], inputs={"question": q}, wait=True)
            for q in ("What is DSPy?", "boom", "Why?", "A much longer question, to vary tokens")
        ]
        # A slow failure: an average over every execution would differ from the completed ones'.
        executions.append(
            await execute(
                client,
                program["id"],
                inputs={"question": "boom"},
                variableConfiguration={"latency_ms": 25},
                wait=True,
            )
        )

        data = await client.data(STATS_QUERY, id=program["id"])

        completed = [e for e in executions if e["status"] == "COMPLETED"]
        failed = [e for e in executions if e["status"] == "FAILED"]
        assert (len(completed), len(failed)) == (3, 2)
        assert all(e["error"] == "Mock failure injected: inputs match fail_on" for e in failed)
        assert all(e["cost"] > 0 for e in completed)
        stats = data["program"]["stats"]
        assert stats["executionCount"] == 5
        assert stats["completedCount"] == 3
        assert stats["failedCount"] == 2
        assert stats["successRate"] == pytest.approx(3 / 5)
        durations = [e["durationMs"] for e in completed]
        assert stats["averageDurationMs"] == pytest.approx(sum(durations) / len(durations))
        assert stats["totalCost"] == pytest.approx(sum(e["cost"] for e in completed), rel=1e-9)
        assert stats["totalTokens"] == sum(
            e["promptTokens"] + e["completionTokens"] for e in completed
        )
        assert data["program"]["lastExecutedAt"] == executions[-1]["createdAt"]

    async def test_each_program_has_its_own_stats(self, client: GraphQLClient) -> None:
        busy = await create_program(
            client, name="busy", configuration={"fail_on": {"question": "x"}}
        )
        await create_program(client, name="idle")
        for question in ("a", "x"):
            await execute(client, busy["id"], inputs={"question": question}, wait=True)

        data = await client.data(
            """{ programs(orderBy: [{field: NAME}]) { nodes { name lastExecutedAt
                 stats { executionCount completedCount failedCount successRate } } } }"""
        )

        busy_row, idle_row = data["programs"]["nodes"]
        assert (busy_row["name"], idle_row["name"]) == ("busy", "idle")
        assert busy_row["stats"] == {
            "executionCount": 2,
            "completedCount": 1,
            "failedCount": 1,
            "successRate": 0.5,
        }
        assert busy_row["lastExecutedAt"] is not None
        assert idle_row["stats"]["executionCount"] == 0
        assert idle_row["lastExecutedAt"] is None


class TestMajorityVote:
    async def test_returns_every_output_field_from_its_samples(self, client: GraphQLClient) -> None:
        program = await create_program(
            client,
            type="CUSTOM",
            implementation="majority_vote",
            signatureSpec="question -> answer, label: Literal['yes', 'no'], score: float",
            configuration={"samples": 5},
        )

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "COMPLETED", execution
        outputs = execution["outputs"]
        assert set(outputs) == {"answer", "label", "score"}
        assert outputs["label"] in ("yes", "no")
        assert isinstance(outputs["score"], float)
        samples = execution["trace"]["samples"]
        assert len(samples) == execution["metadata"]["samples"] == 5
        for name, value in outputs.items():
            counts = Counter(repr(sample[name]) for sample in samples)
            assert counts[repr(value)] == max(counts.values()), name

    async def test_defaults_to_three_samples(self, client: GraphQLClient) -> None:
        program = await create_program(client, type="CUSTOM", implementation="majority_vote")

        execution = await execute(client, program["id"], wait=True)

        assert execution["status"] == "COMPLETED"
        assert set(execution["outputs"]) == {"answer"}
        assert execution["metadata"]["samples"] == 3
        stats = await client.data(STATS_QUERY, id=program["id"])
        tokens = execution["promptTokens"] + execution["completionTokens"]
        assert stats["program"]["stats"]["totalTokens"] == tokens

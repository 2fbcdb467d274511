"""Initializing a program: from draft to ready, or to error."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.programs.helpers import archive, create, get_program, initialize, listed_ids, update
from tests.support.factories import create_program, create_signature, execute
from tests.support.http_client import GraphQLClient


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

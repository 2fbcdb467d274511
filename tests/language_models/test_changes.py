"""Changing and deleting a language model, and what programs that use it refuse."""

from __future__ import annotations

from fastapi import FastAPI

from dspex_gql.programs.models import ProgramStatus
from tests.language_models.helpers import (
    DELETE,
    UPDATE,
    dspy_program,
    get_model,
    language_model,
    listed,
    run,
    stored_row,
    unchanged,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant


class TestUpdate:
    async def test_given_fields_change_the_rest_stay(self, client: GraphQLClient) -> None:
        created = await language_model(client, baseUrl="http://127.0.0.1:9000/v1", apiKey="sk-1")

        updated = await run(
            client,
            UPDATE,
            id=created["id"],
            input={
                "name": "renamed",
                "model": "anthropic/claude-3-5-haiku",
                "defaults": {"temperature": 1},
                "promptPricePerMillion": 0.8,
                "maxConcurrency": 2,
                "requestsPerMinute": 60,
                "visibility": "ORGANIZATION",
            },
        )

        assert updated == unchanged(created) | {
            "__typename": "LanguageModel",
            "name": "renamed",
            "model": "anthropic/claude-3-5-haiku",
            "defaults": {"temperature": 1},
            "promptPricePerMillion": 0.8,
            "maxConcurrency": 2,
            "requestsPerMinute": 60,
            "visibility": "ORGANIZATION",
            "updatedAt": updated["updatedAt"],
        }
        assert updated["updatedAt"] > created["updatedAt"]
        assert await get_model(client, created["id"]) == unchanged(updated)

    async def test_null_clears_what_may_be_empty(self, client: GraphQLClient) -> None:
        created = await language_model(
            client,
            baseUrl="http://127.0.0.1:9000/v1",
            promptPricePerMillion=1,
            completionPricePerMillion=2,
            requestsPerMinute=10,
        )
        cleared = {
            "baseUrl": None,
            "promptPricePerMillion": None,
            "completionPricePerMillion": None,
            "requestsPerMinute": None,
        }

        updated = await run(client, UPDATE, id=created["id"], input=cleared)

        assert {key: updated[key] for key in cleared} == cleared

    async def test_the_api_key_omitted_stays_null_goes_new_replaces(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        id = (await language_model(client, apiKey="sk-first"))["id"]
        first = (await stored_row(app, id)).api_key_ciphertext

        kept = await run(client, UPDATE, id=id, input={"name": "kept"})
        assert kept["hasApiKey"] is True
        assert (await stored_row(app, id)).api_key_ciphertext == first

        replaced = await run(client, UPDATE, id=id, input={"apiKey": "sk-second"})
        assert replaced["hasApiKey"] is True
        assert (await stored_row(app, id)).api_key_ciphertext not in (None, first)

        removed = await run(client, UPDATE, id=id, input={"apiKey": None})
        assert removed["hasApiKey"] is False
        assert (await stored_row(app, id)).api_key_ciphertext is None

        added = await run(client, UPDATE, id=id, input={"apiKey": "sk-third"})
        assert added["hasApiKey"] is True

    async def test_a_name_taken_by_another_model_is_a_conflict(self, client: GraphQLClient) -> None:
        await language_model(client, name="taken")
        mine = await language_model(client, name="mine")

        result = await run(client, UPDATE, id=mine["id"], input={"name": " taken "})
        same = await run(client, UPDATE, id=mine["id"], input={"name": "mine"})

        assert result["__typename"] == "ConflictError", result
        assert result["message"] == "A language model named 'taken' already exists"
        assert same["name"] == "mine"

    async def test_a_model_programs_use_cannot_be_renamed(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        used = await language_model(client, name="fast")
        await dspy_program(app, client, tenant.organization_id, {"lm": "fast"}, name="qa")

        renamed = await run(client, UPDATE, id=used["id"], input={"name": "faster"})
        changed = await run(client, UPDATE, id=used["id"], input={"maxConcurrency": 3})

        assert renamed["__typename"] == "ConflictError", renamed
        assert renamed["message"] == (
            "Language model 'fast' cannot be renamed: 1 program ('qa') name it in their "
            'configuration ("lm") and would break'
        )
        assert changed["maxConcurrency"] == 3
        assert (await get_model(client, used["id"]) or {})["name"] == "fast"

    async def test_an_unknown_id_is_not_found(self, client: GraphQLClient) -> None:
        unknown = "00000000-0000-4000-8000-000000000000"

        for id in (unknown, "not-an-id"):
            result = await run(client, UPDATE, id=id, input={"name": "x"})
            assert (result["__typename"], result["id"]) == ("NotFoundError", id)


class TestDelete:
    async def test_deleted_it_is_gone(self, client: GraphQLClient) -> None:
        created = await language_model(client)

        deleted = await run(client, DELETE, id=created["id"])
        again = await run(client, DELETE, id=created["id"])

        assert deleted == {**unchanged(created), "__typename": "LanguageModel"}
        assert await get_model(client, created["id"]) is None
        assert (await listed(client))["totalCount"] == 0
        assert (again["__typename"], again["id"]) == ("NotFoundError", created["id"])

    async def test_refused_while_dspy_programs_name_it(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        used = await language_model(client, name="fast")
        for name in ("a", "b", "c", "d", "e", "f"):
            await dspy_program(app, client, tenant.organization_id, {"lm": "fast"}, name=name)

        refused = await run(client, DELETE, id=used["id"])

        assert refused["__typename"] == "ConflictError", refused
        assert refused["message"] == (
            "Language model 'fast' is used by 6 programs ('a', 'b', 'c', 'd', 'e', 1 other): "
            'point their configuration\'s "lm" at another model first'
        )
        assert await get_model(client, used["id"]) is not None

    async def test_programs_the_user_cannot_read_are_counted_not_named(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        alice = await member(client, "USER")
        hers = await language_model(alice.client, name="hers", visibility="ORGANIZATION")
        await dspy_program(app, client, tenant.organization_id, {"lm": "hers"}, name="secret")
        await dspy_program(
            app,
            client,
            tenant.organization_id,
            {"lm": "hers"},
            name="hers-too",
            created_by=alice.id,
        )

        refused = await run(alice.client, DELETE, id=hers["id"])

        assert refused["__typename"] == "ConflictError", refused
        assert "2 programs ('hers-too', 1 other)" in refused["message"]
        assert "secret" not in refused["message"]

    async def test_other_programs_do_not_hold_it(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        used = await language_model(client, name="fast")
        organization = tenant.organization_id
        archived = ProgramStatus.ARCHIVED
        await dspy_program(app, client, organization, {"lm": "fast"}, status=archived)
        await dspy_program(app, client, organization, {"lm": "slow"})
        await dspy_program(app, client, organization, {"model": "fast"})
        await dspy_program(app, client, organization, {"lm": ["fast"]})
        mock = {"name": "mock-one", "signatureSpec": "q -> a", "configuration": {"lm": "fast"}}
        created = await client.data(
            "mutation($input: CreateProgramInput!) { createProgram(input: $input) { __typename } }",
            input=mock,
        )
        assert created["createProgram"]["__typename"] == "Program"

        renamed = await run(client, UPDATE, id=used["id"], input={"name": "faster"})
        deleted = await run(client, DELETE, id=renamed["id"])

        assert renamed["name"] == "faster"
        assert deleted["__typename"] == "LanguageModel"

"""Changing a space: adding and removing variables, updating it, deleting it."""

from __future__ import annotations

import math

import pytest

from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.variable_spaces.helpers import (
    ADD,
    DELETE,
    MAX_TOKENS,
    RAG,
    REMOVE,
    RETRIEVER,
    SMALL,
    TOP_K,
    TOP_K_WHEN_DENSE,
    UPDATE,
    UPDATE_PROGRAM,
    USE_CACHE,
    check,
    get_space,
    named,
    problems,
    run,
    space,
    space_count,
    stored,
    unchanged,
)


class TestAddAndRemove:
    async def test_adding_a_variable_recomputes_the_metrics(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)
        assert (created["variableCount"], created["discreteSpaceSize"]) == (2, 2)

        added = await run(client, ADD, id=created["id"], variable=TOP_K)

        assert [v["name"] for v in added["variables"]] == ["temperature", "retriever", "top_k"]
        # 2 retrievers * 20 values of top_k
        assert (added["variableCount"], added["discreteSpaceSize"]) == (3, 40)
        assert added["complexityScore"] == round(math.log10(40) + 2, 3)
        assert await get_space(client, created["id"]) == unchanged(added)

    async def test_removing_a_variable_recomputes_the_metrics(self, client: GraphQLClient) -> None:
        created = await space(client, [*SMALL, TOP_K])

        removed = await run(client, REMOVE, id=created["id"], name="retriever")

        assert [v["name"] for v in removed["variables"]] == ["temperature", "top_k"]
        assert (removed["variableCount"], removed["discreteSpaceSize"]) == (2, 20)
        assert removed["continuousDimensions"] == 1

    async def test_a_bad_new_variable_is_refused(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)

        duplicate = await run(client, ADD, id=created["id"], variable=RETRIEVER)
        out_of_range = await run(client, ADD, id=created["id"], variable=TOP_K | {"default": 99})

        # problems are named after the argument the variable came in
        assert problems(duplicate) == [("variable.name", "duplicate")]
        assert problems(out_of_range) == [("variable.default", "out_of_range")]
        assert (await stored(client, created["id"]))["variableCount"] == 2

    async def test_removing_a_parent_drops_its_dependencies(self, client: GraphQLClient) -> None:
        created = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        assert (await check(client, created["id"], {"retriever": "bm25", "top_k": 3}))[
            "valid"
        ] is False

        removed = await run(client, REMOVE, id=created["id"], name="retriever")

        assert removed["dependencies"] == []
        assert "top_k" in named(removed)
        assert await check(client, created["id"], {"top_k": 3}) == {
            "valid": True,
            "fieldErrors": [],
        }

    async def test_removing_a_dependent_drops_its_dependencies(self, client: GraphQLClient) -> None:
        created = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])

        removed = await run(client, REMOVE, id=created["id"], name="top_k")

        assert removed["dependencies"] == []
        # one dependency less: 0.5 off the score; 20 values of top_k less in the size
        assert removed["discreteSpaceSize"] == created["discreteSpaceSize"] / 20
        assert removed["complexityScore"] == pytest.approx(
            created["complexityScore"] - math.log10(20) - 0.5, abs=1e-3
        )

    async def test_removing_an_unknown_variable_is_refused(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)

        result = await run(client, REMOVE, id=created["id"], name="ghost")

        assert problems(result) == [("name", "unknown")]
        assert "'ghost'" in result["fieldErrors"][0]["message"]

    async def test_the_last_variable_stays(self, client: GraphQLClient) -> None:
        created = await space(client, [USE_CACHE])

        result = await run(client, REMOVE, id=created["id"], name="use_cache")

        assert problems(result) == [("name", "required")]
        assert (await stored(client, created["id"]))["variables"] == created["variables"]

    async def test_an_unknown_space_is_not_found(self, client: GraphQLClient) -> None:
        missing = "00000000-0000-4000-8000-000000000000"

        for result in (
            await run(client, ADD, id=missing, variable=USE_CACHE),
            await run(client, REMOVE, id=missing, name="x"),
            await run(client, UPDATE, id=missing, input={"name": "x"}),
            await run(client, DELETE, id=missing),
        ):
            assert result["__typename"] == "NotFoundError", result
            assert result["id"] == missing


class TestUpdate:
    async def test_variables_replace_the_old_ones(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL, description="before")

        updated = await run(
            client, UPDATE, id=created["id"], input={"variables": [USE_CACHE, MAX_TOKENS]}
        )

        assert [v["name"] for v in updated["variables"]] == ["use_cache", "max_tokens"]
        # 2 * 16 values, nothing continuous
        assert (updated["variableCount"], updated["discreteSpaceSize"]) == (2, 32)
        assert updated["continuousDimensions"] == 0
        assert updated["description"] == "before"
        assert updated["name"] == created["name"]

    async def test_rename_describe_and_share(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL, description="before")

        updated = await run(
            client,
            UPDATE,
            id=created["id"],
            input={"name": "  renamed  ", "description": None, "visibility": "ORGANIZATION"},
        )

        assert (updated["name"], updated["description"]) == ("renamed", None)
        assert updated["visibility"] == "ORGANIZATION"
        assert updated["variables"] == created["variables"]

    async def test_dependencies_replace_the_old_ones(self, client: GraphQLClient) -> None:
        created = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        cached_only = {"variable": "top_k", "dependsOn": "use_cache", "values": [True]}

        updated = await run(client, UPDATE, id=created["id"], input={"dependencies": [cached_only]})
        cleared = await run(client, UPDATE, id=created["id"], input={"dependencies": []})

        assert updated["dependencies"] == [cached_only]
        assert cleared["dependencies"] == []
        assert cleared["complexityScore"] == pytest.approx(created["complexityScore"] - 0.5)

    async def test_new_variables_must_fit_the_old_dependencies(self, client: GraphQLClient) -> None:
        created = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])

        result = await run(client, UPDATE, id=created["id"], input={"variables": [TOP_K]})

        assert problems(result) == [("dependencies[0].dependsOn", "unknown")]
        assert (await stored(client, created["id"]))["variables"] == created["variables"]

    @pytest.mark.parametrize("field", ["name", "variables", "visibility", "constraints"])
    async def test_null_for_a_required_field_is_refused(
        self, client: GraphQLClient, field: str
    ) -> None:
        created = await space(client, SMALL)

        result = await run(client, UPDATE, id=created["id"], input={field: None})

        assert (field, "required") in problems(result)
        stored = await get_space(client, created["id"])
        assert stored == unchanged(created)

    @pytest.mark.parametrize("field", ["name", "visibility", "variables", "constraints"])
    async def test_null_is_one_problem(self, client: GraphQLClient, field: str) -> None:
        created = await space(client, SMALL)

        result = await run(client, UPDATE, id=created["id"], input={field: None})

        assert problems(result) == [(field, "required")]

    async def test_bad_variables_are_refused_and_nothing_changes(
        self, client: GraphQLClient
    ) -> None:
        created = await space(client, SMALL)
        bad = {"name": "n", "type": "INTEGER", "constraints": {"min": 1, "max": 0}}

        result = await run(
            client, UPDATE, id=created["id"], input={"name": "renamed", "variables": [bad]}
        )

        assert problems(result) == [("variables[0].constraints.min", "out_of_range")]
        assert (await stored(client, created["id"]))["name"] == created["name"]


class TestDelete:
    async def test_an_unused_space_is_deleted(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)

        deleted = await run(client, DELETE, id=created["id"])

        assert (deleted["__typename"], deleted["id"]) == ("VariableSpace", created["id"])
        assert await get_space(client, created["id"]) is None
        assert await space_count(client) == 0

    async def test_a_space_in_use_is_kept_until_detached(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)
        program = await create_program(client, ready=False, variableSpaceId=created["id"])

        refused = await run(client, DELETE, id=created["id"])
        detached = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": None}
        )
        deleted = await run(client, DELETE, id=created["id"])

        assert refused["__typename"] == "ConflictError", refused
        assert "used by programs" in refused["message"]
        assert detached["variableSpace"] is None
        assert deleted["__typename"] == "VariableSpace"
        assert await get_space(client, created["id"]) is None

"""Variable spaces through the GraphQL API: typed variables with dependencies, their metrics,
changes to them, sampled and validated configurations, the programs that use them, who may see
and change them, and their audit rows.

Metrics are computed by hand from the formula in `dspex_gql.engine.variables.metrics`:
discreteSpaceSize is the product of the discrete variables' value counts, complexityScore is
log10(discreteSpaceSize) + 2 * continuousDimensions + 0.5 * dependencies, and the difficulty is
EASY below 3, MEDIUM below 8, HARD below 15, else EXTREME.
"""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.app import create_app
from tests.support.app import make_settings
from tests.support.factories import create_program, errors, execute, unique
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant

Node = dict[str, Any]

SPACE_PARTS = """
fragment SpaceParts on VariableSpace {
  id name description visibility constraints dependencies
  variables { name type default description constraints }
  discreteSpaceSize continuousDimensions variableCount complexityScore optimizationDifficulty
  programCount createdAt updatedAt owner { id }
}
"""


def mutation(variables: str, call: str, *error_types: str) -> str:
    """A variable space mutation whose result is aliased `result`, with its union's errors."""
    return (
        SPACE_PARTS
        + f"mutation{variables} {{ result: {call} {{ __typename ...SpaceParts "
        + errors(*error_types)
        + "} }"
    )


CREATE = mutation(
    "($input: CreateVariableSpaceInput!)",
    "createVariableSpace(input: $input)",
    "ValidationError",
    "NotFoundError",
)
UPDATE = mutation(
    "($id: ID!, $input: UpdateVariableSpaceInput!)",
    "updateVariableSpace(id: $id, input: $input)",
    "ValidationError",
    "NotFoundError",
)
ADD = mutation(
    "($id: ID!, $variable: VariableInput!)",
    "addVariable(variableSpaceId: $id, variable: $variable)",
    "ValidationError",
    "NotFoundError",
)
REMOVE = mutation(
    "($id: ID!, $name: String!)",
    "removeVariable(variableSpaceId: $id, name: $name)",
    "ValidationError",
    "NotFoundError",
)
DELETE = mutation("($id: ID!)", "deleteVariableSpace(id: $id)", "NotFoundError")
SPACE_QUERY = SPACE_PARTS + "query($id: ID!) { variableSpace(id: $id) { ...SpaceParts } }"
LIST = """query($filter: VariableSpaceFilter, $orderBy: [VariableSpaceOrder!], $first: Int! = 50,
  $after: String) {
  variableSpaces(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id name } } }"""
GENERATE = """query($id: ID!, $strategy: SamplingStrategy!, $count: Int!, $seed: Int) {
  generateConfigurations(variableSpaceId: $id, strategy: $strategy, count: $count, seed: $seed)
}"""
VALIDATE = """query($id: ID!, $configuration: JSON!) {
  validateConfiguration(variableSpaceId: $id, configuration: $configuration) {
    valid fieldErrors { field message code } } }"""
PROGRAM_SPACE = """query($id: ID!) { program(id: $id) {
  variableSpace { id name programCount programs { totalCount nodes { id } } } } }"""
SPACE_PROGRAMS = """query($id: ID!) { variableSpace(id: $id) {
  programCount programs { totalCount nodes { id } } } }"""
CREATE_PROGRAM = (
    """mutation($input: CreateProgramInput!) { result: createProgram(input: $input) {
  __typename ... on Program { id variableSpace { id } } """
    + errors("NotFoundError")
    + "} }"
)
UPDATE_PROGRAM = (
    """mutation($id: ID!, $input: UpdateProgramInput!) {
  result: updateProgram(id: $id, input: $input) {
  __typename ... on Program { id variableSpace { id } } """
    + errors("NotFoundError")
    + "} }"
)
AUDIT_COUNT = """query($action: String!) {
  auditLogs(filter: {action: {eq: $action}}) { totalCount } }"""

# -- variables of every type --------------------------------------------------------------------

TEMPERATURE: Node = {
    "name": "temperature",
    "type": "FLOAT",
    "default": 0.7,
    "description": "Sampling temperature",
    "constraints": {"min": 0.0, "max": 1.5},
}
LEARNING_RATE: Node = {
    "name": "learning_rate",
    "type": "FLOAT",
    "constraints": {"min": 0.001, "max": 1.0, "log": True},
}
TOP_P: Node = {
    "name": "top_p",
    "type": "FLOAT",
    "constraints": {"min": 0.5, "max": 1.0, "step": 0.25},
}
MAX_TOKENS: Node = {
    "name": "max_tokens",
    "type": "INTEGER",
    "default": 256,
    "constraints": {"min": 64, "max": 1024, "step": 64},
}
RETRIEVER: Node = {
    "name": "retriever",
    "type": "CHOICE",
    "constraints": {"choices": ["bm25", "dense"]},
}
TOP_K: Node = {
    "name": "top_k",
    "type": "INTEGER",
    "default": 5,
    "constraints": {"min": 1, "max": 20},
}
MODULE: Node = {
    "name": "module",
    "type": "MODULE",
    "default": "CHAIN_OF_THOUGHT",
    "description": "Which DSPy module runs",
    "constraints": {"modules": ["PREDICT", "CHAIN_OF_THOUGHT"]},
}
USE_CACHE: Node = {"name": "use_cache", "type": "BOOLEAN", "default": True}
TOP_K_WHEN_DENSE: Node = {"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}

EVERY_TYPE: list[Node] = [
    TEMPERATURE,
    LEARNING_RATE,
    TOP_P,
    MAX_TOKENS,
    RETRIEVER,
    TOP_K,
    MODULE,
    USE_CACHE,
]
RAG: list[Node] = [TEMPERATURE, RETRIEVER, TOP_K, MAX_TOKENS, MODULE, USE_CACHE]
"""With TOP_K_WHEN_DENSE, a space where top_k is only used with the dense retriever."""


async def run(client: GraphQLClient, document: str, **variables: Any) -> Node:
    """The `result` of a mutation built by `mutation()`, whatever its type."""
    result: Node = (await client.data(document, **variables))["result"]
    return result


async def create(client: GraphQLClient, variables: list[Node], **fields: Any) -> Node:
    """`createVariableSpace`'s result, whatever its type."""
    given = {"name": unique("space"), "variables": variables} | fields
    return await run(client, CREATE, input=given)


async def space(client: GraphQLClient, variables: list[Node], **fields: Any) -> Node:
    """A space that must be created."""
    created = await create(client, variables, **fields)
    assert created["__typename"] == "VariableSpace", created
    return created


async def get_space(client: GraphQLClient, id: str) -> Node | None:
    found: Node | None = (await client.data(SPACE_QUERY, id=id))["variableSpace"]
    return found


async def space_count(client: GraphQLClient) -> int:
    count: int = (await client.data(LIST))["variableSpaces"]["totalCount"]
    return count


async def listed(client: GraphQLClient, **variables: Any) -> Node:
    connection: Node = (await client.data(LIST, **variables))["variableSpaces"]
    return connection


async def generated(
    client: GraphQLClient, id: str, strategy: str, count: int, seed: int | None = None
) -> list[Node]:
    found: list[Node] = (
        await client.data(GENERATE, id=id, strategy=strategy, count=count, seed=seed)
    )["generateConfigurations"]
    return found


async def check(client: GraphQLClient, id: str, configuration: Any) -> Node:
    result: Node = (await client.data(VALIDATE, id=id, configuration=configuration))[
        "validateConfiguration"
    ]
    return result


async def audit_count(admin: GraphQLClient, action: str) -> int:
    count: int = (await admin.data(AUDIT_COUNT, action=action))["auditLogs"]["totalCount"]
    return count


def problems(result: Node) -> list[tuple[str, str]]:
    """(field, code) of each field error of a ValidationError."""
    assert result["__typename"] == "ValidationError", result
    return [(error["field"], error["code"]) for error in result["fieldErrors"]]


def unchanged(result: Node) -> Node:
    """A mutation's VariableSpace as `variableSpace(id)` reads it while nothing has changed."""
    return {key: value for key, value in result.items() if key != "__typename"}


async def stored(client: GraphQLClient, id: str) -> Node:
    """A space that must exist, as `variableSpace(id)` reads it."""
    found = await get_space(client, id)
    assert found is not None, id
    return found


async def visible(client: GraphQLClient, id: str) -> bool:
    return await get_space(client, id) is not None


def named(result: Node) -> dict[str, Node]:
    return {variable["name"]: variable for variable in result["variables"]}


def active(configuration: Node) -> set[str]:
    """The variables of RAG that must be set: top_k only with the dense retriever."""
    names = {"temperature", "retriever", "max_tokens", "module", "use_cache"}
    return names | {"top_k"} if configuration["retriever"] == "dense" else names


# -- creating -----------------------------------------------------------------------------------


class TestCreate:
    async def test_every_type_with_defaults_descriptions_and_constraints(
        self, client: GraphQLClient
    ) -> None:
        created = await space(
            client,
            EVERY_TYPE,
            description="Knobs of a RAG program",
            dependencies=[TOP_K_WHEN_DENSE],
            constraints={"budget": 10},
            visibility="ORGANIZATION",
        )

        assert created["description"] == "Knobs of a RAG program"
        assert created["constraints"] == {"budget": 10}
        assert created["visibility"] == "ORGANIZATION"
        assert [v["name"] for v in created["variables"]] == [v["name"] for v in EVERY_TYPE]
        variables = named(created)
        assert variables["temperature"] == {
            "name": "temperature",
            "type": "FLOAT",
            "default": 0.7,
            "description": "Sampling temperature",
            "constraints": {"min": 0.0, "max": 1.5, "log": False},
        }
        assert variables["learning_rate"]["constraints"] == {"min": 0.001, "max": 1.0, "log": True}
        assert variables["learning_rate"]["default"] is None
        assert variables["top_p"]["constraints"] == {
            "min": 0.5,
            "max": 1.0,
            "step": 0.25,
            "log": False,
        }
        assert variables["max_tokens"]["constraints"] == {
            "min": 64,
            "max": 1024,
            "step": 64,
            "log": False,
        }
        assert variables["max_tokens"]["default"] == 256
        assert variables["top_k"]["constraints"] == {"min": 1, "max": 20, "step": 1, "log": False}
        assert variables["retriever"]["constraints"] == {"choices": ["bm25", "dense"]}
        assert variables["module"] == {
            "name": "module",
            "type": "MODULE",
            "default": "CHAIN_OF_THOUGHT",
            "description": "Which DSPy module runs",
            "constraints": {"modules": ["PREDICT", "CHAIN_OF_THOUGHT"]},
        }
        assert variables["use_cache"] == {
            "name": "use_cache",
            "type": "BOOLEAN",
            "default": True,
            "description": None,
            "constraints": {},
        }
        assert created["dependencies"] == [TOP_K_WHEN_DENSE]
        stored = await get_space(client, created["id"])
        assert stored == unchanged(created)

    async def test_metrics_of_a_space_of_every_type(self, client: GraphQLClient) -> None:
        created = await space(client, EVERY_TYPE, dependencies=[TOP_K_WHEN_DENSE])

        # Discrete: top_p 0.5..1 step 0.25 has 3 values, max_tokens 64..1024 step 64 has 16,
        # retriever 2, top_k 1..20 has 20, module 2, use_cache 2. Continuous: temperature and
        # learning_rate. One dependency.
        size = 3 * 16 * 2 * 20 * 2 * 2
        assert created["discreteSpaceSize"] == size == 7680
        assert created["continuousDimensions"] == 2
        assert created["variableCount"] == 8
        # log10(7680) = 3.885, + 2 * 2 + 0.5 * 1 = 8.385: HARD (from 8, below 15)
        assert created["complexityScore"] == pytest.approx(8.385)
        assert created["complexityScore"] == round(math.log10(size) + 2 * 2 + 0.5, 3)
        assert created["optimizationDifficulty"] == "HARD"

    @pytest.mark.parametrize(
        ("variables", "size", "continuous", "score", "difficulty"),
        [
            # one BOOLEAN: 2 values, log10(2) = 0.301
            ([USE_CACHE], 2, 0, 0.301, "EASY"),
            # the metrics docstring's example: CHOICE of 10 * INTEGER 1..100 = 1000 values,
            # one continuous FLOAT: 3 + 2 * 1 = 5
            (
                [
                    {"name": "c", "type": "CHOICE", "constraints": {"choices": list(range(10))}},
                    {"name": "n", "type": "INTEGER", "constraints": {"min": 1, "max": 100}},
                    {"name": "x", "type": "FLOAT", "constraints": {"min": 0, "max": 1}},
                ],
                1000,
                1,
                5.0,
                "MEDIUM",
            ),
            # only continuous: size 1 (the empty product), 2 * 2 = 4
            ([TEMPERATURE, LEARNING_RATE], 1, 2, 4.0, "MEDIUM"),
        ],
        ids=["boolean", "docstring-example", "continuous-only"],
    )
    async def test_metrics_computed_by_hand(
        self,
        client: GraphQLClient,
        variables: list[Node],
        size: int,
        continuous: int,
        score: float,
        difficulty: str,
    ) -> None:
        created = await space(client, variables)

        assert created["variableCount"] == len(variables)
        assert created["discreteSpaceSize"] == size
        assert created["continuousDimensions"] == continuous
        assert created["complexityScore"] == pytest.approx(score)
        assert created["optimizationDifficulty"] == difficulty

    async def test_a_huge_space_has_a_finite_size(self, client: GraphQLClient) -> None:
        huge = [
            {"name": f"n{i}", "type": "INTEGER", "constraints": {"min": 0, "max": 10**9}}
            for i in range(30)
        ]

        created = await space(client, huge)

        # (10^9 + 1)^30 is about 1e270, below the largest float (about 1.8e308)
        assert created["discreteSpaceSize"] == pytest.approx(float(10**9 + 1) ** 30)
        assert math.isfinite(created["discreteSpaceSize"])
        assert created["complexityScore"] == pytest.approx(270.0)
        assert created["optimizationDifficulty"] == "EXTREME"

    async def test_a_size_beyond_the_largest_float_is_capped(self, client: GraphQLClient) -> None:
        beyond = [
            {"name": f"n{i}", "type": "INTEGER", "constraints": {"min": 0, "max": 10**9}}
            for i in range(40)
        ]

        created = await space(client, beyond)

        # (10^9 + 1)^40 is about 1e360: capped, while the score is still log10 of the exact size
        assert created["discreteSpaceSize"] == sys.float_info.max
        assert created["complexityScore"] == pytest.approx(360.0)

    async def test_one_and_true_are_different_choices(self, client: GraphQLClient) -> None:
        variables: list[Node] = [
            {"name": "mode", "type": "CHOICE", "constraints": {"choices": [1, True, "1", None]}},
            {"name": "boost", "type": "BOOLEAN"},
        ]
        dependencies = [{"variable": "boost", "dependsOn": "mode", "values": [True]}]

        created = await space(client, variables, dependencies=dependencies)

        assert named(created)["mode"]["constraints"] == {"choices": [1, True, "1", None]}
        assert created["discreteSpaceSize"] == 4 * 2
        assert (await check(client, created["id"], {"mode": True, "boost": True}))["valid"]
        when_one = await check(client, created["id"], {"mode": 1, "boost": True})
        assert [(e["field"], e["code"]) for e in when_one["fieldErrors"]] == [
            ("configuration.boost", "inactive")
        ]


# -- refused input ------------------------------------------------------------------------------

BOOL_A: Node = {"name": "a", "type": "BOOLEAN"}
BOOL_B: Node = {"name": "b", "type": "BOOLEAN"}


@pytest.mark.parametrize(
    ("variables", "dependencies", "expected"),
    [
        pytest.param(
            [BOOL_A, {"name": "a", "type": "INTEGER", "constraints": {"min": 0, "max": 3}}],
            [],
            [("variables[1].name", "duplicate")],
            id="duplicate-name",
        ),
        pytest.param(
            [{"name": "n", "type": "INTEGER", "constraints": {"min": 5, "max": 5}}],
            [],
            [("variables[0].constraints.min", "out_of_range")],
            id="min-not-below-max",
        ),
        pytest.param(
            [{"name": "x", "type": "FLOAT", "default": 2, "constraints": {"min": 0, "max": 1}}],
            [],
            [("variables[0].default", "out_of_range")],
            id="default-out-of-range",
        ),
        pytest.param(
            [{"name": "x", "type": "FLOAT", "constraints": {"min": 0, "max": 1, "log": True}}],
            [],
            [("variables[0].constraints.min", "out_of_range")],
            id="log-with-min-zero",
        ),
        pytest.param(
            [{"name": "c", "type": "CHOICE", "constraints": {"choices": ["x"], "weights": [1]}}],
            [],
            [("variables[0].constraints.weights", "invalid")],
            id="unknown-constraint-key",
        ),
        pytest.param(
            [{"name": "c", "type": "CHOICE", "constraints": {"choices": []}}],
            [],
            [("variables[0].constraints.choices", "required")],
            id="empty-choices",
        ),
        pytest.param(
            [{"name": "c", "type": "CHOICE", "constraints": {"choices": [1, True, 1.0]}}],
            [],
            [("variables[0].constraints.choices[2]", "duplicate")],
            id="one-and-one-point-zero-are-the-same-choice",
        ),
        pytest.param(
            [{"name": "m", "type": "MODULE", "constraints": {"modules": ["PREDICT", "TELEPATHY"]}}],
            [],
            [("variables[0].constraints.modules[1]", "unknown")],
            id="unknown-module",
        ),
        pytest.param(
            [BOOL_A],
            [{"variable": "a", "dependsOn": "ghost", "values": [True]}],
            [("dependencies[0].dependsOn", "unknown")],
            id="dependency-on-unknown-variable",
        ),
        pytest.param(
            [BOOL_A, BOOL_B],
            [
                {"variable": "a", "dependsOn": "b", "values": [True]},
                {"variable": "b", "dependsOn": "a", "values": [True]},
            ],
            [("dependencies", "cycle")],
            id="dependency-cycle",
        ),
        pytest.param(
            [
                BOOL_A,
                BOOL_A,
                {"name": "n", "type": "INTEGER", "constraints": {"min": 3, "max": 1}},
            ],
            [],
            [("variables[1].name", "duplicate"), ("variables[2].constraints.min", "out_of_range")],
            id="every-problem-at-once",
        ),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: GraphQLClient,
    variables: list[Node],
    dependencies: list[Node],
    expected: list[tuple[str, str]],
) -> None:
    await space(client, [USE_CACHE])
    before = await space_count(client)

    result = await create(client, variables, dependencies=dependencies)

    assert problems(result) == expected
    assert result["code"] == "VALIDATION_FAILED"
    assert result["message"]
    assert await space_count(client) == before


async def test_a_cycle_is_named_in_its_message(client: GraphQLClient) -> None:
    dependencies = [
        {"variable": "a", "dependsOn": "b", "values": [True]},
        {"variable": "b", "dependsOn": "a", "values": [True]},
    ]

    result = await create(client, [BOOL_A, BOOL_B], dependencies=dependencies)

    [error] = result["fieldErrors"]
    assert "a -> b -> a" in error["message"]


async def test_an_unknown_module_message_lists_the_available_ones(client: GraphQLClient) -> None:
    module = {"name": "m", "type": "MODULE", "constraints": {"modules": ["TELEPATHY"]}}

    [error] = (await create(client, [module]))["fieldErrors"]

    assert "'TELEPATHY'" in error["message"]
    assert "PREDICT" in error["message"]
    assert "CHAIN_OF_THOUGHT" in error["message"]


async def test_a_blank_name_and_an_empty_variable_list_are_refused(client: GraphQLClient) -> None:
    result = await run(client, CREATE, input={"name": "  ", "variables": []})

    assert problems(result) == [("name", "required"), ("variables", "required")]
    assert await space_count(client) == 0


# -- changing -----------------------------------------------------------------------------------

SMALL: list[Node] = [TEMPERATURE, RETRIEVER]
"""One continuous variable and a CHOICE of 2: size 2."""


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


# -- sampling and checking configurations -------------------------------------------------------


@dataclass(frozen=True)
class Shared:
    client: GraphQLClient
    rag: str
    """A space of RAG with TOP_K_WHEN_DENSE."""
    flag: str
    """A space of USE_CACHE alone."""


@pytest.fixture(scope="class")
async def shared(database_url: str) -> AsyncIterator[Shared]:
    """An app and organization of its own, for a class whose tests only read: its spaces are made
    once, not once per test."""
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        key = (await new_tenant(application)).admin_key
        async with GraphQLClient.for_app(application, key) as client:
            rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
            flag = await space(client, [USE_CACHE])
            yield Shared(client, rag["id"], flag["id"])


SAMPLED = ["RANDOM", "LATIN_HYPERCUBE", "SOBOL"]


class TestGenerate:
    @pytest.mark.parametrize("strategy", [*SAMPLED, "GRID"])
    async def test_every_configuration_is_valid_and_has_exactly_the_active_variables(
        self, shared: Shared, strategy: str
    ) -> None:
        found = await generated(shared.client, shared.rag, strategy, 24, seed=11)

        assert len(found) == 24
        for configuration in found:
            assert set(configuration) == active(configuration), configuration
            assert await check(shared.client, shared.rag, configuration) == {
                "valid": True,
                "fieldErrors": [],
            }, configuration
        assert {c["retriever"] for c in found} == {"bm25", "dense"}  # both branches are seen

    @pytest.mark.parametrize("strategy", SAMPLED)
    async def test_a_seed_reproduces_the_sample(self, shared: Shared, strategy: str) -> None:
        first = await generated(shared.client, shared.rag, strategy, 8, seed=3)
        again = await generated(shared.client, shared.rag, strategy, 8, seed=3)
        other = await generated(shared.client, shared.rag, strategy, 8, seed=4)

        assert first == again
        assert first != other

    async def test_the_grid_ignores_the_seed(self, shared: Shared) -> None:
        first = await generated(shared.client, shared.rag, "GRID", 10, seed=3)
        other = await generated(shared.client, shared.rag, "GRID", 10, seed=4)
        unseeded = await generated(shared.client, shared.rag, "GRID", 10)

        assert first == other == unseeded
        assert len({tuple(sorted(c.items())) for c in first}) == 10  # no configuration twice

    async def test_a_grid_that_runs_out_gives_fewer(self, shared: Shared) -> None:
        assert await generated(shared.client, shared.flag, "GRID", 10) == [
            {"use_cache": False},
            {"use_cache": True},
        ]

    async def test_one_configuration_by_default(self, shared: Shared) -> None:
        data = await shared.client.data(
            "query($id: ID!) { generateConfigurations(variableSpaceId: $id) }", id=shared.rag
        )

        [configuration] = data["generateConfigurations"]
        assert set(configuration) == active(configuration)

    @pytest.mark.parametrize("count", [0, -1, 1001])
    async def test_a_count_out_of_range_is_an_error(self, shared: Shared, count: int) -> None:
        body = await shared.client.execute(GENERATE, id=shared.rag, strategy="RANDOM", count=count)

        assert body["data"] is None
        [error] = body["errors"]
        assert error["path"] == ["generateConfigurations"]
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        assert [(e["field"], e["code"]) for e in error["extensions"]["fieldErrors"]] == [
            ("count", "out_of_range")
        ]

    async def test_a_negative_seed_is_an_error(self, shared: Shared) -> None:
        body = await shared.client.execute(
            GENERATE, id=shared.rag, strategy="RANDOM", count=1, seed=-1
        )

        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        [problem] = error["extensions"]["fieldErrors"]
        assert (problem["field"], problem["code"]) == ("seed", "out_of_range")
        assert problem["message"] == "must be between 0 and 4294967295"

    async def test_the_largest_count_is_allowed(self, shared: Shared) -> None:
        assert len(await generated(shared.client, shared.rag, "SOBOL", 1000, seed=1)) == 1000


VALID = {
    "temperature": 0.3,
    "retriever": "dense",
    "top_k": 7,
    "max_tokens": 512,
    "module": "PREDICT",
    "use_cache": False,
}


class TestValidateConfiguration:
    @pytest.mark.parametrize(
        "configuration",
        [VALID, {}, {"retriever": "bm25"}, {"temperature": 1.5, "max_tokens": 1024}],
        ids=["complete", "empty", "inactive-left-out", "bounds"],
    )
    async def test_a_valid_configuration(self, shared: Shared, configuration: Node) -> None:
        assert await check(shared.client, shared.rag, configuration) == {
            "valid": True,
            "fieldErrors": [],
        }

    @pytest.mark.parametrize(
        ("configuration", "expected"),
        [
            pytest.param({"ghost": 1}, [("configuration.ghost", "unknown")], id="unknown"),
            pytest.param(
                {"retriever": "dense", "top_k": "five"},
                [("configuration.top_k", "invalid")],
                id="string-for-integer",
            ),
            pytest.param(
                {"retriever": "dense", "top_k": 2.5},
                [("configuration.top_k", "invalid")],
                id="float-for-integer",
            ),
            pytest.param({"use_cache": 1}, [("configuration.use_cache", "invalid")], id="one"),
            pytest.param(
                {"retriever": "sparse"}, [("configuration.retriever", "invalid")], id="choice"
            ),
            pytest.param({"module": "REACT"}, [("configuration.module", "invalid")], id="module"),
            pytest.param(
                {"temperature": 1.6}, [("configuration.temperature", "out_of_range")], id="above"
            ),
            pytest.param(
                {"max_tokens": 100}, [("configuration.max_tokens", "out_of_range")], id="off-step"
            ),
            pytest.param(
                {"retriever": "bm25", "top_k": 5},
                [("configuration.top_k", "inactive")],
                id="inactive",
            ),
            pytest.param(
                {"top_k": 5}, [("configuration.top_k", "inactive")], id="inactive-by-default"
            ),
            pytest.param(
                {"ghost": 1, "temperature": -1, "use_cache": "yes"},
                [
                    ("configuration.ghost", "unknown"),
                    ("configuration.temperature", "out_of_range"),
                    ("configuration.use_cache", "invalid"),
                ],
                id="every-problem-at-once",
            ),
            pytest.param([VALID], [("configuration", "invalid")], id="not-an-object"),
        ],
    )
    async def test_each_problem_is_one_field_error(
        self, shared: Shared, configuration: Any, expected: list[tuple[str, str]]
    ) -> None:
        result = await check(shared.client, shared.rag, configuration)

        assert result["valid"] is False
        assert [(e["field"], e["code"]) for e in result["fieldErrors"]] == expected
        assert all(e["message"] for e in result["fieldErrors"])

    async def test_an_inactive_variable_names_its_condition(self, shared: Shared) -> None:
        result = await check(shared.client, shared.rag, {"retriever": "bm25", "top_k": 5})

        assert "retriever is one of ['dense']" in result["fieldErrors"][0]["message"]


# -- programs -----------------------------------------------------------------------------------


async def new_program(client: GraphQLClient, **fields: Any) -> Node:
    given = {"name": unique("program"), "signatureSpec": "question -> answer"} | fields
    return await run(client, CREATE_PROGRAM, input=given)


async def space_programs(client: GraphQLClient, id: str) -> tuple[int, int]:
    """programCount and programs.totalCount of the space."""
    found = (await client.data(SPACE_PROGRAMS, id=id))["variableSpace"]
    return found["programCount"], found["programs"]["totalCount"]


class TestPrograms:
    async def test_a_program_uses_a_space(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)

        program = await new_program(client, variableSpaceId=rag["id"])
        other = await new_program(client, variableSpaceId=rag["id"])
        await new_program(client)

        assert program["variableSpace"] == {"id": rag["id"]}
        found = (await client.data(PROGRAM_SPACE, id=program["id"]))["program"]["variableSpace"]
        assert (found["id"], found["name"], found["programCount"]) == (rag["id"], rag["name"], 2)
        assert found["programs"]["totalCount"] == 2
        assert {node["id"] for node in found["programs"]["nodes"]} == {program["id"], other["id"]}

    async def test_an_unknown_space_is_not_found(self, client: GraphQLClient) -> None:
        missing = "00000000-0000-4000-8000-000000000000"

        created = await new_program(client, variableSpaceId=missing)

        assert (created["__typename"], created["id"]) == ("NotFoundError", missing)
        programs = await client.data("{ programs { totalCount } }")
        assert programs["programs"]["totalCount"] == 0

    async def test_attach_and_detach(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client)
        assert program["variableSpace"] is None

        attached = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": rag["id"]}
        )
        counted = await space_programs(client, rag["id"])
        renamed = await run(client, UPDATE_PROGRAM, id=program["id"], input={"name": "renamed"})
        detached = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": None}
        )

        assert attached["variableSpace"] == {"id": rag["id"]}
        assert counted == (1, 1)
        assert renamed["variableSpace"] == {"id": rag["id"]}  # left alone when not given
        assert detached["variableSpace"] is None
        assert await space_programs(client, rag["id"]) == (0, 0)

    async def test_attaching_an_unknown_space_is_not_found(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client, variableSpaceId=rag["id"])
        missing = "00000000-0000-4000-8000-000000000000"

        result = await run(
            client, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": missing}
        )

        assert (result["__typename"], result["id"]) == ("NotFoundError", missing)
        assert await space_programs(client, rag["id"]) == (1, 1)

    async def test_archived_programs_are_not_counted(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG)
        program = await new_program(client, variableSpaceId=rag["id"])

        await client.data(
            "mutation($id: ID!) { archiveProgram(id: $id) { __typename } }", id=program["id"]
        )

        assert await space_programs(client, rag["id"]) == (0, 0)


class TestExecute:
    async def test_a_valid_configuration_runs(self, client: GraphQLClient) -> None:
        rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        program = await create_program(client, variableSpaceId=rag["id"])
        configuration = {"temperature": 0.2, "retriever": "dense", "top_k": 3}

        execution = await execute(
            client, program["id"], variableConfiguration=configuration, wait=True
        )

        assert execution["__typename"] == "Execution", execution
        assert execution["status"] == "COMPLETED", execution
        assert execution["variableConfiguration"] == configuration

    @pytest.mark.parametrize(
        ("configuration", "expected"),
        [
            ({"temperature": 9}, [("variableConfiguration.temperature", "out_of_range")]),
            ({"ghost": True}, [("variableConfiguration.ghost", "unknown")]),
            (
                {"retriever": "bm25", "top_k": 3},
                [("variableConfiguration.top_k", "inactive")],
            ),
        ],
        ids=["out-of-range", "unknown", "inactive"],
    )
    async def test_an_invalid_configuration_is_refused(
        self, client: GraphQLClient, configuration: Node, expected: list[tuple[str, str]]
    ) -> None:
        rag = await space(client, RAG, dependencies=[TOP_K_WHEN_DENSE])
        program = await create_program(client, variableSpaceId=rag["id"])

        result = await execute(client, program["id"], variableConfiguration=configuration)

        assert problems(result) == expected
        data = await client.data("{ executions { totalCount } }")
        assert data["executions"]["totalCount"] == 0


# -- lists --------------------------------------------------------------------------------------


class TestList:
    async def test_filter_order_and_pages(self, client: GraphQLClient) -> None:
        suffix = unique("")
        names = [f"{letter}{suffix}" for letter in ("gamma", "alpha", "delta", "beta")]
        for name in names:
            await space(client, [USE_CACHE], name=name)
        by_name = [{"field": "NAME"}]

        first = await listed(client, orderBy=by_name, first=3)
        rest = await listed(client, orderBy=by_name, first=3, after=first["pageInfo"]["endCursor"])
        found = await listed(client, filter={"name": {"eq": names[1]}})
        backwards = await listed(client, orderBy=[{"field": "NAME", "direction": "DESC"}])

        ordered = sorted(names)
        assert [node["name"] for node in first["nodes"]] == ordered[:3]
        assert [node["name"] for node in rest["nodes"]] == ordered[3:]
        assert (first["totalCount"], rest["totalCount"]) == (4, 4)
        assert first["pageInfo"]["hasNextPage"] is True
        assert rest["pageInfo"]["hasNextPage"] is False
        assert [node["name"] for node in found["nodes"]] == [names[1]]
        assert found["totalCount"] == 1
        assert [node["name"] for node in backwards["nodes"]] == ordered[::-1]

    async def test_filter_on_visibility(self, client: GraphQLClient) -> None:
        shared = await space(client, [USE_CACHE], visibility="ORGANIZATION")
        await space(client, [USE_CACHE])

        found = await listed(client, filter={"visibility": {"eq": "ORGANIZATION"}})

        assert [node["id"] for node in found["nodes"]] == [shared["id"]]

    async def test_newest_first_by_default(self, client: GraphQLClient) -> None:
        made = [(await space(client, [USE_CACHE]))["id"] for _ in range(3)]

        assert [node["id"] for node in (await listed(client))["nodes"]] == made[::-1]


# -- who may see and change what ----------------------------------------------------------------


class TestPolicies:
    async def test_viewers_cannot_create(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")

        result = await create(vera.client, [USE_CACHE])

        assert result["__typename"] == "ForbiddenError", result
        assert await space_count(client) == 0

    async def test_viewers_read_but_cannot_change(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")
        shared = await space(client, SMALL, visibility="ORGANIZATION")
        id = shared["id"]

        assert await visible(vera.client, id)
        assert (await check(vera.client, id, {"temperature": 0.1}))["valid"] is True
        assert len(await generated(vera.client, id, "RANDOM", 2, seed=1)) == 2
        for result in (
            await run(vera.client, UPDATE, id=id, input={"name": "mine"}),
            await run(vera.client, ADD, id=id, variable=USE_CACHE),
            await run(vera.client, REMOVE, id=id, name="retriever"),
            await run(vera.client, DELETE, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
        assert await get_space(client, id) == unchanged(shared)

    async def test_users_create_and_change_their_own(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")

        created = await space(alice.client, SMALL)
        renamed = await run(alice.client, UPDATE, id=created["id"], input={"name": "alice's"})
        added = await run(alice.client, ADD, id=created["id"], variable=USE_CACHE)
        deleted = await run(alice.client, DELETE, id=created["id"])

        assert created["owner"] == {"id": alice.id}
        assert renamed["name"] == "alice's"
        assert added["variableCount"] == 3
        assert deleted["__typename"] == "VariableSpace"

    async def test_users_cannot_change_an_admins_space(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        shared = await space(client, SMALL, visibility="ORGANIZATION")
        id = shared["id"]

        for result in (
            await run(alice.client, UPDATE, id=id, input={"name": "mine"}),
            await run(alice.client, ADD, id=id, variable=USE_CACHE),
            await run(alice.client, REMOVE, id=id, name="retriever"),
            await run(alice.client, DELETE, id=id),
        ):
            assert result["__typename"] == "ForbiddenError", result
            assert "owner" in result["message"]
        assert await get_space(client, id) == unchanged(shared)

    async def test_admins_change_a_users_space(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        hers = await space(alice.client, SMALL)

        result = await run(client, UPDATE, id=hers["id"], input={"name": "tidied"})

        assert result["name"] == "tidied"

    async def test_private_spaces_of_others_look_missing(self, client: GraphQLClient) -> None:
        alice = await member(client, "USER")
        bob = await member(client, "USER")
        bobs_private = await space(bob.client, SMALL)
        bobs_shared = await space(bob.client, SMALL, visibility="ORGANIZATION")
        admins_private = await space(client, SMALL)
        alices = await space(alice.client, SMALL)

        seen_by_alice = {node["id"] for node in (await listed(alice.client))["nodes"]}
        seen_by_admin = {node["id"] for node in (await listed(client))["nodes"]}

        assert seen_by_alice == {bobs_shared["id"], alices["id"]}
        assert (await listed(alice.client))["totalCount"] == 2
        assert seen_by_admin == {
            bobs_private["id"],
            bobs_shared["id"],
            admins_private["id"],
            alices["id"],
        }
        for hidden in (bobs_private, admins_private):
            id = hidden["id"]
            assert not await visible(alice.client, id)
            renamed = await run(alice.client, UPDATE, id=id, input={"name": "x"})
            used = await new_program(alice.client, variableSpaceId=id)
            assert (renamed["__typename"], used["__typename"]) == ("NotFoundError",) * 2
            found = await alice.client.errors(VALIDATE, id=id, configuration={})
            assert [error["extensions"]["code"] for error in found] == ["NOT_FOUND"]
        assert await visible(alice.client, bobs_shared["id"])
        assert await visible(client, bobs_private["id"])


class TestOtherOrganizations:
    async def test_another_organizations_space_is_missing(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        theirs = await space(client, SMALL, visibility="ORGANIZATION")
        id = theirs["id"]
        stranger = client.acting_as((await new_tenant(app)).admin_key)

        assert await get_space(stranger, id) is None
        assert (await listed(stranger))["totalCount"] == 0
        for result in (
            await run(stranger, UPDATE, id=id, input={"name": "x"}),
            await run(stranger, ADD, id=id, variable=USE_CACHE),
            await run(stranger, REMOVE, id=id, name="retriever"),
            await run(stranger, DELETE, id=id),
            await new_program(stranger, variableSpaceId=id),
        ):
            assert (result["__typename"], result["id"]) == ("NotFoundError", id), result
        for query, arguments in (
            (GENERATE, {"strategy": "RANDOM", "count": 1}),
            (VALIDATE, {"configuration": {}}),
        ):
            found = await stranger.errors(query, id=id, **arguments)
            assert [error["extensions"]["code"] for error in found] == ["NOT_FOUND"]
        assert await get_space(client, id) == unchanged(theirs)

    async def test_another_organizations_program_cannot_use_it(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        theirs = await space(client, SMALL, visibility="ORGANIZATION")
        stranger = client.acting_as((await new_tenant(app)).admin_key)
        program = await new_program(stranger)

        result = await run(
            stranger, UPDATE_PROGRAM, id=program["id"], input={"variableSpaceId": theirs["id"]}
        )

        assert result["__typename"] == "NotFoundError", result
        assert await space_programs(client, theirs["id"]) == (0, 0)


# -- audit --------------------------------------------------------------------------------------

ACTIONS = [
    f"variableSpace.{name}"
    for name in ("create", "update", "addVariable", "removeVariable", "delete")
]


async def audit_counts(admin: GraphQLClient) -> dict[str, int]:
    return {action: await audit_count(admin, action) for action in ACTIONS}


class TestAudit:
    async def test_each_change_writes_one_row(self, client: GraphQLClient) -> None:
        expected = dict.fromkeys(ACTIONS, 0)
        assert await audit_counts(client) == expected

        created = await space(client, SMALL)
        expected["variableSpace.create"] += 1
        assert await audit_counts(client) == expected

        id = created["id"]
        await run(client, UPDATE, id=id, input={"description": "now described"})
        expected["variableSpace.update"] += 1
        assert await audit_counts(client) == expected

        await run(client, ADD, id=id, variable=USE_CACHE)
        expected["variableSpace.addVariable"] += 1
        assert await audit_counts(client) == expected

        await run(client, REMOVE, id=id, name="use_cache")
        expected["variableSpace.removeVariable"] += 1
        assert await audit_counts(client) == expected

        await run(client, DELETE, id=id)
        expected["variableSpace.delete"] += 1
        assert await audit_counts(client) == expected

    async def test_the_row_names_the_space(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)

        data = await client.data(
            """{ auditLogs(filter: {action: {eq: "variableSpace.create"}}) {
                 nodes { resourceType resourceId changes } } }"""
        )

        assert data["auditLogs"]["nodes"] == [
            {
                "resourceType": "VariableSpace",
                "resourceId": created["id"],
                "changes": {"name": created["name"], "variables": ["temperature", "retriever"]},
            }
        ]

    async def test_a_refused_change_writes_nothing(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")
        created = await space(client, SMALL, visibility="ORGANIZATION")
        program = await new_program(client, variableSpaceId=created["id"])
        id = created["id"]
        before = await audit_counts(client)
        total = (await client.data("{ auditLogs { totalCount } }"))["auditLogs"]["totalCount"]

        refused = [
            await create(client, [BOOL_A, BOOL_A]),
            await create(vera.client, SMALL),
            await run(client, UPDATE, id=id, input={"name": None}),
            await run(vera.client, UPDATE, id=id, input={"name": "x"}),
            await run(client, ADD, id=id, variable=RETRIEVER),
            await run(client, REMOVE, id=id, name="ghost"),
            await run(client, DELETE, id=id),
        ]

        assert [result["__typename"] for result in refused] == [
            "ValidationError",
            "ForbiddenError",
            "ValidationError",
            "ForbiddenError",
            "ValidationError",
            "ValidationError",
            "ConflictError",
        ]
        assert await audit_counts(client) == before
        after = (await client.data("{ auditLogs { totalCount } }"))["auditLogs"]["totalCount"]
        assert after == total
        assert program["__typename"] == "Program"

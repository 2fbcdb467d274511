"""Creating a space: variables of every type, its metrics, and the input that is refused."""

from __future__ import annotations

import math
import sys

import pytest

from tests.support.http_client import GraphQLClient
from tests.variable_spaces.helpers import (
    BOOL_A,
    CREATE,
    MAX_TOKENS,
    MODULE,
    RETRIEVER,
    TEMPERATURE,
    TOP_K,
    TOP_K_WHEN_DENSE,
    USE_CACHE,
    Node,
    check,
    create,
    get_space,
    named,
    problems,
    run,
    space,
    space_count,
    unchanged,
)

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

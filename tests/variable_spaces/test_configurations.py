"""Configurations of a space: sampled by a strategy, and checked against it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.variable_spaces.helpers import GENERATE, Node, Shared, check, generated


def active(configuration: Node) -> set[str]:
    """The variables of RAG that must be set: top_k only with the dense retriever."""
    names = {"temperature", "retriever", "max_tokens", "module", "use_cache"}
    return names | {"top_k"} if configuration["retriever"] == "dense" else names


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

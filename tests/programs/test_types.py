"""Program types: each built-in type, and a custom implementation (majority vote)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.programs.helpers import STATS_QUERY, create
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient


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

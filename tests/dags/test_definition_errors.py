"""What makes a definition invalid, reported through the API all at once, with nothing stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from dspex_gql.config import DagSettings, Settings
from tests.dags.helpers import create_dag, list_dags, node, problems, update_dag
from tests.support.app import make_settings
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant


async def program(client: GraphQLClient, spec: str) -> str:
    return str((await create_program(client, ready=False, signatureSpec=spec))["id"])


async def nothing_stored(client: GraphQLClient) -> bool:
    return bool((await list_dags(client))["totalCount"] == 0)


class TestEveryProblemAtOnce:
    async def test_graph_reference_and_type_problems_in_one_answer(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        search = await program(client, "question -> passages: list[str]")
        answer = await program(client, "passage -> answer")
        other_organization = client.acting_as((await new_tenant(app)).admin_key)
        theirs = await program(other_organization, "question -> answer")
        unknown = str(uuid.uuid4())
        definition = {
            "nodes": [
                node("search", search, question="$context.question"),
                node("search", search, question="$context.question"),
                node("answer", answer, "search", "ghost", passage="$nodes.search.passages"),
                node("loop_a", answer, "loop_b", passage="$context.passage"),
                node("loop_b", answer, "loop_a", passage="$context.passage"),
                node("unknown", unknown, question="$context.question"),
                node("foreign", theirs, question="$context.question"),
                node("sideways", answer, passage="$nodes.answer.answer"),
            ]
        }

        result = await create_dag(client, definition, name=" ")

        assert problems(result) == [
            ("name", "required", "must not be empty"),
            (
                "definition.nodes[1].name",
                "duplicate",
                "duplicate node name 'search' (node 0 has it)",
            ),
            ("definition.nodes[2].dependencies[1]", "unknown_dependency", "unknown node 'ghost'"),
            ("definition.nodes[3].dependencies", "cycle", "cycle: loop_a -> loop_b -> loop_a"),
            (
                "definition.nodes[2].inputs.passage",
                "type",
                "'search.passages' (list[str]) does not fit input 'passage' (str)",
            ),
            ("definition.nodes[5].programId", "unknown_program", f"unknown program '{unknown}'"),
            ("definition.nodes[6].programId", "unknown_program", f"unknown program '{theirs}'"),
            (
                "definition.nodes[7].inputs.passage",
                "not_upstream",
                "'answer' is not upstream of 'sideways': add it to dependencies",
            ),
        ]
        assert await nothing_stored(client)

    async def test_another_users_private_program_is_unknown_to_who_cannot_see_it(
        self, client: GraphQLClient
    ) -> None:
        alice, bob = await member(client), await member(client)
        private = await program(alice.client, "question -> answer")
        definition = {"nodes": [node("ask", private, question="$context.question")]}

        refused = await create_dag(bob.client, definition)
        by_owner = await create_dag(alice.client, definition)

        assert problems(refused) == [
            ("definition.nodes[0].programId", "unknown_program", f"unknown program '{private}'")
        ]
        assert by_owner["__typename"] == "Dag", by_owner

    async def test_an_update_is_checked_the_same_way_and_changes_nothing(
        self, client: GraphQLClient
    ) -> None:
        ask = await program(client, "question -> answer")
        definition = {"nodes": [node("ask", ask, question="$context.question")]}
        dag = await create_dag(client, definition)
        cyclic = {"nodes": [node("ask", ask, "ask", question="$context.question")]}

        result = await update_dag(client, dag["id"], definition=cyclic, description="x" * 10_001)

        assert problems(result) == [
            ("description", "too_long", "must be at most 10000 characters"),
            ("definition.nodes[0].dependencies", "cycle", "cycle: ask -> ask"),
        ]
        unchanged = await update_dag(client, dag["id"])
        assert (unchanged["version"], unchanged["definition"]) == (1, definition)
        assert unchanged["description"] is None


class TestShape:
    @pytest.mark.parametrize(
        ("definition", "expected"),
        [
            ([], [("definition", "type", "expected an object with 'nodes', got list")]),
            ({"nodes": []}, [("definition.nodes", "required", "a DAG needs at least one node")]),
            (
                {"nodes": [{"name": 3, "maxRetries": "2", "colour": "red"}], "edges": []},
                [
                    ("definition.edges", "unknown", "unknown field 'edges'"),
                    ("definition.nodes[0].colour", "unknown", "unknown field 'colour'"),
                    ("definition.nodes[0].name", "type", "expected a string, got int"),
                    (
                        "definition.nodes[0].programId",
                        "required",
                        "a PROGRAM node needs a programId",
                    ),
                    ("definition.nodes[0].maxRetries", "type", "expected an integer, got str"),
                ],
            ),
        ],
    )
    async def test_a_malformed_definition_names_each_bad_part(
        self, client: GraphQLClient, definition: Any, expected: list[tuple[str, str, str]]
    ) -> None:
        result = await create_dag(client, definition)

        assert problems(result) == expected
        assert await nothing_stored(client)


class TestSize:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, dag=DagSettings(max_definition_bytes=200))

    async def test_a_definition_over_the_limit_is_refused_before_it_is_read(
        self, client: GraphQLClient
    ) -> None:
        definition = {"nodes": [{"name": "x" * 200}]}

        result = await create_dag(client, definition)

        assert problems(result) == [
            ("definition", "too_large", "must be at most 200 bytes of JSON")
        ]

    @pytest.mark.parametrize(("size", "refused"), [(201, True), (200, False)])
    async def test_the_limit_counts_the_bytes_stored(
        self, client: GraphQLClient, size: int, refused: bool
    ) -> None:
        """Compact UTF-8 JSON, as the column stores it: 'é' is two bytes, no spaces count."""
        payload = size - len('{"nodes":[{"name":""}]}')
        definition = {"nodes": [{"name": "é" * (payload // 2) + "x" * (payload % 2)}]}

        result = await create_dag(client, definition)

        codes = [code for _, code, _ in problems(result)]
        assert ("too_large" in codes) is refused, codes

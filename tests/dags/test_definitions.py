"""Creating a DAG from a definition, and reading back its nodes, programs and versions."""

from __future__ import annotations

from typing import Any

from tests.dags.helpers import create_dag, get_dag, node
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant


async def program(client: GraphQLClient, spec: str, **fields: Any) -> dict[str, Any]:
    return await create_program(client, ready=False, signatureSpec=spec, **fields)


async def diamond(client: GraphQLClient) -> dict[str, Any]:
    """retrieve → (summarize, critique) → answer."""
    retrieve = await program(client, "question -> passage")
    summarize = await program(client, "passage -> summary")
    critique = await program(client, "passage -> critique")
    answer = await program(client, "question, summary, critique -> answer")
    return {
        "nodes": [
            node("retrieve", retrieve["id"], question="$context.question"),
            node("summarize", summarize["id"], "retrieve", passage="$nodes.retrieve.passage"),
            node("critique", critique["id"], "retrieve", passage="$nodes.retrieve.passage"),
            node(
                "answer",
                answer["id"],
                "summarize",
                "critique",
                question="$context.question",
                summary="$nodes.summarize.summary",
                critique="$nodes.critique.critique",
            ),
        ]
    }


class TestCreate:
    async def test_a_diamond_is_a_draft_at_version_1(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        definition = await diamond(client)

        dag = await create_dag(
            client, definition, name="  qa pipeline  ", description="retrieve, then answer"
        )

        assert dag["__typename"] == "Dag", dag
        assert (dag["name"], dag["description"]) == ("qa pipeline", "retrieve, then answer")
        assert (dag["status"], dag["version"], dag["visibility"]) == ("DRAFT", 1, "PRIVATE")
        assert dag["definition"] == definition
        assert dag["createdBy"] == {"id": tenant.admin_id}
        assert dag["versions"] == [
            {
                "version": 1,
                "definition": definition,
                "createdAt": dag["versions"][0]["createdAt"],
                "createdBy": {"id": tenant.admin_id},
            }
        ]
        assert await get_dag(client, dag["id"]) == dag

    async def test_nodes_read_back_with_their_programs_and_defaults(
        self, client: GraphQLClient
    ) -> None:
        definition = await diamond(client)

        dag = await create_dag(client, definition)

        nodes = {n["name"]: n for n in dag["nodes"]}
        assert list(nodes) == ["retrieve", "summarize", "critique", "answer"]
        assert nodes["answer"]["dependencies"] == ["summarize", "critique"]
        assert nodes["summarize"]["inputs"] == {"passage": "$nodes.retrieve.passage"}
        for sent, read in zip(definition["nodes"], dag["nodes"], strict=True):
            assert read["program"]["id"] == sent["programId"]
            assert read["kind"] == "PROGRAM"
            assert (read["maxRetries"], read["timeoutSeconds"]) == (0, None)
            assert (read["fanOut"], read["transform"]) == (None, None)

    async def test_transform_fan_out_retries_and_timeouts_read_back(
        self, client: GraphQLClient
    ) -> None:
        search = await program(client, "question -> passages: list[str]")
        grade = await program(client, "passage -> grade: float")
        definition = {
            "nodes": [
                node("search", search["id"], question="$context.question")
                | {"maxRetries": 3, "timeoutSeconds": 2.5},
                node("grade", grade["id"], "search", passage="$nodes.search.passages")
                | {"fanOut": "passage"},
                {
                    "name": "collect",
                    "kind": "TRANSFORM",
                    "dependencies": ["grade"],
                    "inputs": {"grades": "$nodes.grade.grade"},
                    "transform": {"op": "rename", "renames": {"grades": "scores"}},
                },
            ]
        }

        dag = await create_dag(client, definition)

        search_node, grade_node, collect = dag["nodes"]
        assert (search_node["maxRetries"], search_node["timeoutSeconds"]) == (3, 2.5)
        assert grade_node["fanOut"] == "passage"
        assert (collect["kind"], collect["program"]) == ("TRANSFORM", None)
        assert collect["transform"] == {"op": "rename", "renames": {"grades": "scores"}}

    async def test_a_program_the_reader_cannot_see_reads_as_null(
        self, client: GraphQLClient
    ) -> None:
        alice, bob = await member(client), await member(client)
        private = await program(alice.client, "question -> answer")
        definition = {"nodes": [node("ask", private["id"], question="$context.question")]}
        dag = await create_dag(alice.client, definition, visibility="ORGANIZATION")

        seen_by_bob = await get_dag(bob.client, dag["id"])

        assert seen_by_bob is not None
        assert seen_by_bob["nodes"][0]["program"] is None
        assert seen_by_bob["definition"] == definition
        assert dag["nodes"][0]["program"]["id"] == private["id"]

"""DAG runs through GraphQL: nodes run as their dependencies succeed, their outputs flow along the
mappings, every node is tracked and every program call is an execution."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.dags.runs_support import (
    active_dag,
    call,
    execute_dag,
    finished,
    nodes_of,
    program,
    started,
)
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

PRICED = {"prompt_price_per_1k": 1.0, "completion_price_per_1k": 2.0}


async def diamond(client: GraphQLClient) -> str:
    retrieve = await program(client, "question -> passage", **PRICED)
    answer = await program(client, "passage -> answer", **PRICED)
    judge = await program(client, "first, second -> verdict", **PRICED)
    return await active_dag(
        client,
        [
            call("retrieve", retrieve, {"question": "$context.question"}),
            call("left", answer, {"passage": "$nodes.retrieve.passage"}, "retrieve"),
            call("right", answer, {"passage": "$nodes.retrieve.passage"}, "retrieve"),
            call(
                "judge",
                judge,
                {"first": "$nodes.left.answer", "second": "$nodes.right.answer"},
                "left",
                "right",
            ),
        ],
    )


async def test_a_diamond_runs_every_node_with_its_upstream_outputs(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    dag_id = await diamond(client)

    run = await execute_dag(client, dag_id, {"question": "What is DSPy?"})
    assert run["__typename"] == "DagRun", run
    assert run["status"] == "PENDING"
    assert run["totalNodes"] == 4
    assert run["dagVersion"] == 1
    done = await finished(app, tenant.admin_key, run["id"])

    nodes = nodes_of(done)
    assert done["status"] == "SUCCESS", done
    assert [n["nodeName"] for n in done["nodeExecutions"]] == ["retrieve", "left", "right", "judge"]
    assert all(n["status"] == "SUCCESS" and n["attempts"] == 1 for n in nodes.values())
    assert nodes["retrieve"]["inputs"] == {"question": "What is DSPy?"}
    assert nodes["left"]["inputs"] == {"passage": nodes["retrieve"]["result"]["passage"]}
    assert nodes["judge"]["inputs"] == {
        "first": nodes["left"]["result"]["answer"],
        "second": nodes["right"]["result"]["answer"],
    }
    assert done["result"] == {"judge": nodes["judge"]["result"]}
    assert nodes["judge"]["startedAt"] >= max(
        nodes["left"]["completedAt"], nodes["right"]["completedAt"]
    )


async def test_each_program_node_is_an_execution_and_the_run_adds_up_its_nodes(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    dag_id = await diamond(client)

    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    nodes = done["nodeExecutions"]
    for node in nodes:
        execution = node["execution"]
        assert execution["status"] == "COMPLETED"
        assert node["executions"]["totalCount"] == 1
        assert node["executions"]["nodes"][0]["outputs"] == node["result"]
        assert node["executions"]["nodes"][0]["options"]["node"] == node["nodeName"]
    assert done["cost"] > 0
    assert done["cost"] == sum(node["cost"] for node in nodes)
    assert done["promptTokens"] == sum(node["promptTokens"] for node in nodes)
    assert done["completionTokens"] == sum(node["completionTokens"] for node in nodes)
    assert (done["finishedNodes"], done["succeededNodes"], done["failedNodes"]) == (4, 4, 0)
    assert done["successRate"] == 1.0
    durations = [node["durationMs"] for node in nodes]
    assert done["averageNodeDurationMs"] == sum(durations) / 4
    assert done["durationMs"] is not None
    assert done["startedAt"] <= done["completedAt"]
    assert done["triggeredBy"]["id"] == tenant.admin_id


async def test_a_fanned_out_node_calls_once_per_item_and_gathers_in_order(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(
        client, [call("each", answer, {"question": "$context.questions"}, fanOut="question")]
    )
    questions = [f"question {i}" for i in range(7)]

    done = await finished(
        app, tenant.admin_key, await started(client, dag_id, {"questions": questions})
    )

    node = nodes_of(done)["each"]
    executions = node["executions"]["nodes"]
    assert done["status"] == "SUCCESS", done
    assert node["executions"]["totalCount"] == 7
    assert node["execution"] is None
    by_item = {e["options"]["item"]: e for e in executions}
    assert [by_item[i]["inputs"]["question"] for i in range(7)] == questions
    assert node["result"] == {"answer": [by_item[i]["outputs"]["answer"] for i in range(7)]}


async def test_a_wide_dag_merges_every_branch(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer")
    branches = [call(f"b{i}", answer, {"question": "$context.question"}) for i in range(40)]
    merge = {
        "name": "all",
        "kind": "TRANSFORM",
        "dependencies": [f"b{i}" for i in range(40)],
        "inputs": {f"a{i}": f"$nodes.b{i}.answer" for i in range(40)},
        "transform": {"op": "merge", "into": "answers"},
    }
    dag_id = await active_dag(client, [*branches, merge])

    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    nodes = nodes_of(done)
    assert done["status"] == "SUCCESS"
    assert done["succeededNodes"] == 41
    assert done["result"] == {
        "all": {"answers": [nodes[f"b{i}"]["result"]["answer"] for i in range(40)]}
    }
    assert nodes["all"]["execution"] is None
    assert nodes["all"]["executions"]["totalCount"] == 0


async def test_a_failing_node_is_retried_with_attempt_numbers(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    flaky = await program(client, "question -> answer", fail_attempts=2)
    dag_id = await active_dag(
        client, [call("flaky", flaky, {"question": "$context.question"}, maxRetries=2)]
    )

    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    node = nodes_of(done)["flaky"]
    statuses = sorted((e["options"]["attempt"], e["status"]) for e in node["executions"]["nodes"])
    assert done["status"] == "SUCCESS", done
    assert (node["attempts"], node["retryCount"]) == (3, 2)
    assert statuses == [(1, "FAILED"), (2, "FAILED"), (3, "COMPLETED")]
    assert node["execution"]["status"] == "COMPLETED"


async def test_a_failure_skips_its_downstream_and_the_rest_goes_on(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    failing = await program(client, "question -> answer", fail_on={"question": "doomed"})
    answer = await program(client, "question -> answer")
    follow = await program(client, "answer -> verdict")
    dag_id = await active_dag(
        client,
        [
            call("bad", failing, {"question": "$context.question"}, maxRetries=1),
            call("after", follow, {"answer": "$nodes.bad.answer"}, "bad"),
            call("further", follow, {"answer": "$nodes.after.verdict"}, "after"),
            call("good", answer, {"question": "$context.question"}),
        ],
    )

    done = await finished(
        app, tenant.admin_key, await started(client, dag_id, {"question": "doomed"})
    )

    nodes = nodes_of(done)
    assert done["status"] == "FAILED"
    assert done["error"] == "1 node(s) failed: bad"
    assert nodes["bad"]["status"] == "FAILED"
    assert nodes["bad"]["attempts"] == 2
    assert "fail_on" in nodes["bad"]["error"]
    assert nodes["after"]["status"] == nodes["further"]["status"] == "SKIPPED"
    assert nodes["after"]["error"] == "upstream node 'bad' failed"
    assert nodes["after"]["executions"]["totalCount"] == 0
    assert nodes["good"]["status"] == "SUCCESS"
    assert (done["failedNodes"], done["succeededNodes"], done["finishedNodes"]) == (1, 1, 4)
    assert done["successRate"] == 0.25
    assert done["result"] is None


async def test_a_node_that_takes_too_long_times_out(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    slow = await program(client, "question -> answer", latency_ms=60_000)
    dag_id = await active_dag(
        client, [call("slow", slow, {"question": "$context.question"}, timeoutSeconds=0.2)]
    )

    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    node = nodes_of(done)["slow"]
    assert done["status"] == "FAILED"
    assert node["status"] == "FAILED"
    assert node["error"] == "timed out after 0.2 s"
    assert node["execution"]["status"] == "FAILED"


def _statuses(run: dict[str, Any]) -> dict[str, str]:
    return {node["nodeName"]: node["status"] for node in run["nodeExecutions"]}

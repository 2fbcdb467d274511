"""Starting, cancelling and retrying DAG runs, and what is refused with a clear error."""

from __future__ import annotations

from fastapi import FastAPI

from dspex_gql.accounts.admin import set_quota
from dspex_gql.config import Settings
from tests.dags.helpers import update_dag
from tests.dags.runs_support import (
    GET_RUN,
    NODE,
    RUN,
    active_dag,
    call,
    execute_dag,
    finished,
    nodes_of,
    program,
    started,
    until_node_running,
)
from tests.support.factories import errors
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant

CANCEL = (
    RUN
    + "mutation($id: ID!) { cancelDagRun(id: $id) { __typename ...RunParts "
    + errors("NotFoundError")
    + "} }"
)
RETRY = (
    RUN
    + "mutation($id: ID!) { retryDagRun(id: $id) { __typename ...RunParts "
    + errors("ValidationError", "NotFoundError", "QuotaExceededError")
    + "} }"
)
EXECUTIONS_OF = """query($id: ID!) { executions(filter: {programId: {eq: $id}}) {
  totalCount nodes { status } } }"""
HELD = {"latency_ms": 600_000}


async def test_cancelling_stops_running_nodes_and_skips_the_rest(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    held = await program(client, "question -> answer", **HELD)
    quick = await program(client, "question -> answer")
    after = await program(client, "answer -> verdict")
    dag_id = await active_dag(
        client,
        [
            call("held", held, {"question": "$context.question"}),
            call("quick", quick, {"question": "$context.question"}),
            call("after", after, {"answer": "$nodes.held.answer"}, "held"),
        ],
    )
    run_id = await started(client, dag_id, {"question": "q"})
    await until_node_running(app, tenant.admin_key, run_id, "held")

    cancelled = (await client.data(CANCEL, id=run_id))["cancelDagRun"]

    nodes = nodes_of(cancelled)
    assert cancelled["status"] == "CANCELLED", cancelled
    assert cancelled["error"] == "Cancelled by user"
    assert nodes["held"]["status"] == "CANCELLED"
    assert nodes["held"]["error"] == "Cancelled by user"
    assert nodes["held"]["execution"]["status"] == "CANCELLED"
    assert nodes["after"]["status"] == "SKIPPED"
    assert nodes["quick"]["status"] == "SUCCESS"
    again = (await client.data(CANCEL, id=run_id))["cancelDagRun"]
    assert again["__typename"] == "ConflictError"
    assert again["message"] == "The DAG run already finished (CANCELLED)"
    audit = await client.data(
        '{ auditLogs(filter: {action: {eq: "dag.cancel"}}) { nodes { resourceId } } }'
    )
    assert audit["auditLogs"]["nodes"] == [{"resourceId": run_id}]


async def test_an_execution_of_a_dag_is_cancelled_through_its_run(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    held = await program(client, "question -> answer", **HELD)
    dag_id = await active_dag(client, [call("held", held, {"question": "$context.question"})])
    run_id = await started(client, dag_id, {"question": "q"})
    await until_node_running(app, tenant.admin_key, run_id, "held")
    execution_id = nodes_of((await client.data(GET_RUN, id=run_id))["dagRun"])["held"]["execution"]

    refused = await client.data(
        "mutation($id: ID!) { cancelExecution(id: $id) { __typename ... on Error { message } } }",
        id=execution_id["id"],
    )

    assert refused["cancelExecution"] == {
        "__typename": "ConflictError",
        "message": "This execution belongs to a DAG run; cancel the DAG run instead",
    }
    assert (await client.data(CANCEL, id=run_id))["cancelDagRun"]["status"] == "CANCELLED"


async def test_a_retry_reuses_what_succeeded_and_reruns_the_failures(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    first_step = await program(client, "question -> passage")
    flaky = await program(client, "passage -> answer", fail_attempts=1)
    last_step = await program(client, "answer -> verdict")
    dag_id = await active_dag(
        client,
        [
            call("first", first_step, {"question": "$context.question"}),
            call("flaky", flaky, {"passage": "$nodes.first.passage"}, "first"),
            call("last", last_step, {"answer": "$nodes.flaky.answer"}, "flaky"),
        ],
    )
    failed = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    retry = (await client.data(RETRY, id=failed["id"]))["retryDagRun"]
    done = await finished(app, tenant.admin_key, retry["id"])

    before, after = nodes_of(failed), nodes_of(done)
    assert failed["status"] == "FAILED"
    assert [before[n]["status"] for n in ("first", "flaky", "last")] == [
        "SUCCESS",
        "FAILED",
        "SKIPPED",
    ]
    assert retry["status"] == "PENDING"
    assert retry["retryCount"] == 1
    assert retry["retryOf"] == {"id": failed["id"]}
    assert done["status"] == "SUCCESS", done
    assert after["first"]["reusedFromId"] == before["first"]["id"]
    assert after["first"]["result"] == before["first"]["result"]
    assert after["first"]["execution"]["id"] == before["first"]["execution"]["id"]
    assert after["flaky"]["attempts"] == 2, "attempt numbers go on across retries"
    assert after["last"]["status"] == "SUCCESS"
    first_calls = (await client.data(EXECUTIONS_OF, id=first_step))["executions"]
    assert first_calls["totalCount"] == 1, "the reused node did not run again"
    assert done["cost"] == after["flaky"]["cost"] + after["last"]["cost"]


async def test_only_failed_or_cancelled_runs_are_retried(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("a", answer, {"question": "$context.question"})])
    done = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    refused = (await client.data(RETRY, id=done["id"]))["retryDagRun"]
    unknown = await client.data(RETRY, id="00000000-0000-4000-8000-000000000000")

    assert refused["__typename"] == "ConflictError"
    assert refused["message"] == (
        "The DAG run is SUCCESS; only failed or cancelled runs can be retried"
    )
    assert unknown["retryDagRun"]["__typename"] == "NotFoundError"


async def test_a_draft_dag_does_not_run(client: GraphQLClient) -> None:
    answer = await program(client, "question -> answer")
    data = await client.data(
        "mutation($input: CreateDagInput!) { createDag(input: $input) { ... on Dag { id } } }",
        input={
            "name": "draft",
            "definition": {"nodes": [call("a", answer, {"question": "$context.question"})]},
        },
    )

    refused = await execute_dag(client, data["createDag"]["id"], {"question": "q"})

    assert refused["__typename"] == "ConflictError"
    assert refused["message"] == "The DAG is DRAFT; only ACTIVE DAGs can run"


async def test_the_context_must_hold_what_the_entry_nodes_need(client: GraphQLClient) -> None:
    answer = await program(client, "question -> answer")
    score = await program(client, "answer, weight: float -> verdict")
    dag_id = await active_dag(
        client,
        [
            call("each", answer, {"question": "$context.questions"}, fanOut="question"),
            call("score", score, {"answer": "$context.answer", "weight": "$context.weight"}),
        ],
    )
    counts = await client.data("{ dagRuns { totalCount } executions { totalCount } }")

    refused = await execute_dag(client, dag_id, {"questions": "not a list", "weight": "heavy"})
    not_an_object = await execute_dag(client, dag_id, ["questions"])  # type: ignore[arg-type]

    assert refused["__typename"] == "ValidationError"
    assert {(e["field"], e["code"]) for e in refused["fieldErrors"]} == {
        ("context.questions", "type"),
        ("context.answer", "missing"),
        ("context.weight", "type"),
    }
    messages = {e["field"]: e["message"] for e in refused["fieldErrors"]}
    assert messages["context.questions"] == "expected list[str], got str"
    assert messages["context.answer"] == "missing 'answer'"
    assert not_an_object["__typename"] == "ValidationError"
    assert not_an_object["fieldErrors"][0]["field"] == "context"
    assert await client.data("{ dagRuns { totalCount } executions { totalCount } }") == counts


async def test_a_program_that_stopped_being_ready_stops_the_dag(client: GraphQLClient) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("a", answer, {"question": "$context.question"})])
    archived = await client.data(
        "mutation($id: ID!) { archiveProgram(id: $id) { __typename } }", id=answer
    )
    assert archived["archiveProgram"]["__typename"] == "Program"

    refused = await execute_dag(client, dag_id, {"question": "q"})

    assert refused["__typename"] == "ConflictError"
    assert "is ARCHIVED, not READY" in refused["message"]


async def test_viewers_do_not_run_dags_and_others_do_not_cancel_yours(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    held = await program(client, "question -> answer", **HELD)
    dag_id = await active_dag(client, [call("held", held, {"question": "$context.question"})])
    viewer = await member(client, "VIEWER")
    user = await member(client, "USER")
    run_id = await started(client, dag_id, {"question": "q"})

    refused = await execute_dag(viewer.client, dag_id, {"question": "q"})
    not_theirs = (await user.client.data(CANCEL, id=run_id))["cancelDagRun"]

    assert refused["__typename"] == "ForbiddenError"
    assert refused["message"] == "Viewers cannot run DAGs"
    assert not_theirs["__typename"] in ("ForbiddenError", "NotFoundError")
    assert (await client.data(CANCEL, id=run_id))["cancelDagRun"]["status"] == "CANCELLED"


async def test_a_used_compute_quota_refuses_a_run(
    client: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("a", answer, {"question": "$context.question"})])
    await set_quota(settings, tenant.slug, 0)

    refused = await execute_dag(client, dag_id, {"question": "q"})

    assert refused["__typename"] == "QuotaExceededError"
    assert refused["limit"] == 0


__all__ = ["NODE"]


async def test_an_oversized_context_or_a_malformed_id_is_refused(client: GraphQLClient) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("a", answer, {"question": "$context.question"})])

    oversized = await execute_dag(client, dag_id, {"question": "x" * 300_000})
    malformed = await execute_dag(client, "not-an-id", {"question": "q"})

    assert oversized["__typename"] == "ValidationError"
    assert oversized["fieldErrors"][0]["field"] == "context"
    assert malformed["__typename"] == "NotFoundError"
    assert (await client.data("{ dagRuns { totalCount } }"))["dagRuns"]["totalCount"] == 0


async def test_a_run_after_an_update_runs_the_new_version(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    answer = await program(client, "question -> answer")
    dag_id = await active_dag(client, [call("first", answer, {"question": "$context.question"})])
    before = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))
    updated = await update_dag(
        client,
        dag_id,
        definition={"nodes": [call("second", answer, {"question": "$context.question"})]},
    )
    assert updated["version"] == 2, updated

    after = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))

    assert (before["dagVersion"], list(nodes_of(before))) == (1, ["first"])
    assert (after["dagVersion"], list(nodes_of(after))) == (2, ["second"])
    assert after["status"] == "SUCCESS", after


async def test_a_dag_is_checked_again_once_a_programs_signature_changed(
    app: FastAPI, client: GraphQLClient, tenant: Tenant
) -> None:
    search = await program(client, "question -> passage")
    answer = await program(client, "passage -> answer")
    dag_id = await active_dag(
        client,
        [
            call("search", search, {"question": "$context.question"}),
            call("answer", answer, {"passage": "$nodes.search.passage"}, "search"),
        ],
    )
    ran = await finished(app, tenant.admin_key, await started(client, dag_id, {"question": "q"}))
    assert ran["status"] == "SUCCESS", ran
    changed = await client.data(
        """mutation($id: ID!, $input: UpdateProgramInput!) {
             updateProgram(id: $id, input: $input) { __typename }
             initializeProgram(id: $id) { __typename ... on Program { status } } }""",
        id=search,
        input={"signatureSpec": "question -> passage: list[str]"},
    )
    assert changed["initializeProgram"] == {"__typename": "Program", "status": "READY"}, changed

    refused = await execute_dag(client, dag_id, {"question": "q"})

    assert refused["__typename"] == "ValidationError", refused
    assert [e["message"] for e in refused["fieldErrors"]] == [
        "'search.passage' (list[str]) does not fit input 'passage' (str)"
    ]

"""A DAG whose nodes are real DSPy programs calling the fake LM server: questions fanned out to a
DSPy program, its answers gathered and passed on."""

from __future__ import annotations

from fastapi import FastAPI

from tests.dags.runs_support import active_dag, call, finished, nodes_of, started
from tests.dspy_programs.conftest import QUESTIONS, create_language_model
from tests.dspy_programs.test_executions import dspy_program
from tests.support.fake_lm import UNKNOWN_ANSWER, FakeLM
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


async def test_a_dag_fans_questions_out_to_a_dspy_program(
    app: FastAPI, client: GraphQLClient, tenant: Tenant, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    answer = await dspy_program(client, model, signatureSpec="question -> answer")
    dag_id = await active_dag(
        client,
        [
            call("ask", answer["id"], {"question": "$context.questions"}, fanOut="question"),
            {
                "name": "answers",
                "kind": "TRANSFORM",
                "dependencies": ["ask"],
                "inputs": {"answer": "$nodes.ask.answer"},
                "transform": {"op": "rename", "renames": {"answer": "all"}},
            },
        ],
    )

    run_id = await started(client, dag_id, {"questions": QUESTIONS})
    done = await finished(app, tenant.admin_key, run_id)

    ask = nodes_of(done)["ask"]
    executions = ask["executions"]["nodes"]
    assert done["status"] == "SUCCESS", done
    assert done["result"] == {"answers": {"all": [UNKNOWN_ANSWER] * len(QUESTIONS)}}
    assert len(executions) == len(QUESTIONS) == fake_lm.stats.requests
    assert all(e["status"] == "COMPLETED" for e in executions)
    assert ask["promptTokens"] > 0
    assert ask["cost"] > 0
    assert done["cost"] == ask["cost"]

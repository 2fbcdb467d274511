"""A language model can answer what no database stores: PostgreSQL refuses NUL in text and JSON.
Clients cannot send it (refused at the edge), but an answer cannot be refused: it is stored with
U+FFFD in place of each such character, in the outputs, the trace and an error message, and the
run ends as it would have (before, on PostgreSQL, the execution stayed PENDING for good)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.dags.runs_support import active_dag, call, finished, nodes_of, started
from tests.dspy_programs.conftest import API_KEY, create_language_model
from tests.support.factories import create_program, execute
from tests.support.fake_lm import FakeLM
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant

QUESTION = "What does the file start with?"
NUL_ANSWER = "\x00\x00 then 42"
STORED_ANSWER = "\ufffd\ufffd then 42"


@pytest.fixture
def fake_lm() -> Iterator[FakeLM]:
    knowledge = {QUESTION: {"answer": NUL_ANSWER}}
    with FakeLM(knowledge=knowledge, learner=False, api_key=API_KEY) as server:
        yield server


async def dspy_program(client: GraphQLClient, fake: FakeLM) -> dict[str, Any]:
    model = await create_language_model(client, fake)
    configuration = {"lm": model["name"], "max_retries": 0}
    return await create_program(client, adapter="dspy", configuration=configuration)


async def test_an_answer_with_a_nul_is_stored_with_replacement_characters(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    program = await dspy_program(client, fake_lm)

    execution = await execute(client, program["id"], inputs={"question": QUESTION}, wait=True)

    assert execution["status"] == "COMPLETED", execution["error"]
    assert execution["outputs"] == {"answer": STORED_ANSWER}
    assert STORED_ANSWER in execution["trace"]["calls"][0]["response"]
    assert "\\u0000" not in json.dumps(execution)


async def test_an_unreadable_answer_with_a_nul_fails_with_a_message_that_is_stored(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    """The message quotes the answer with its escapes (as Python writes a string)."""
    program = await dspy_program(client, fake_lm)
    fake_lm.malformed_next(times=2, content="\x00 is all I say")  # DSPy asks once more

    execution = await execute(client, program["id"], inputs={"question": QUESTION}, wait=True)

    assert execution["status"] == "FAILED"
    assert execution["error"].endswith("it answered: '\\x00 is all I say'"), execution["error"]


async def test_a_dag_node_answering_a_nul_succeeds_with_replacement_characters(
    app: FastAPI, tenant: Tenant, client: GraphQLClient, fake_lm: FakeLM
) -> None:
    program = await dspy_program(client, fake_lm)
    dag = await active_dag(client, [call("ask", program["id"], {"question": "$context.q"})])

    run = await finished(app, tenant.admin_key, await started(client, dag, {"q": QUESTION}))

    assert run["status"] == "SUCCESS", run
    assert run["result"] == {"ask": {"answer": STORED_ANSWER}}
    node = nodes_of(run)["ask"]
    assert node["result"] == {"answer": STORED_ANSWER}
    assert node["executions"]["nodes"][0]["outputs"] == {"answer": STORED_ANSWER}

"""A program moves between the service and a notebook as DSPy's own JSON (`module.save`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.dspy_programs.conftest import API_KEY, KNOWLEDGE, QUESTIONS, create_language_model
from tests.support.factories import create_program, errors, execute, unique
from tests.support.fake_lm import UNKNOWN_ANSWER, FakeLM
from tests.support.http_client import GraphQLClient

SIGNATURE_STATE = {
    "instructions": "Given the fields `question`, produce the fields `answer`.",
    "fields": [
        {"prefix": "Question:", "description": "${question}"},
        {"prefix": "Answer:", "description": "${answer}"},
    ],
}
IMPORT = (
    "mutation($input: ImportProgramInput!) { importProgram(input: $input) {"
    " __typename ... on Program { id status compiledState errorMessage } "
    + errors("ValidationError", "NotFoundError")
    + "} }"
)
EXPORT = (
    "mutation($id: ID!) { exportProgram(id: $id) {"
    " __typename ... on ProgramExport { state dspyVersion program { id } } "
    + errors("NotFoundError")
    + "} }"
)


def notebook_program(path: Path) -> None:
    """What a user does in a notebook: a compiled Predict with one demonstration, saved."""
    import dspy

    module = dspy.Predict("question -> answer")
    demo = QUESTIONS[1]
    module.demos = [dspy.Example(question=demo, **KNOWLEDGE[demo]).with_inputs("question")]
    module.save(str(path))


def notebook_answer(path: Path, base_url: str) -> str:
    """Back in the notebook: load the exported program and ask it a question."""
    import dspy

    module = dspy.Predict("question -> answer")
    module.load(str(path))
    lm = dspy.LM("openai/fake", api_base=base_url, api_key=API_KEY, cache=False, num_retries=0)
    with dspy.context(lm=lm):
        answer: str = module(question=QUESTIONS[0]).answer
    return answer


async def import_program(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = await client.data(IMPORT, input={"name": unique("imported")} | fields)
    result: dict[str, Any] = data["importProgram"]
    return result


async def test_a_notebook_round_trip(
    client: GraphQLClient, fake_lm: FakeLM, tmp_path: Path
) -> None:
    saved = tmp_path / "saved.json"
    await asyncio.to_thread(notebook_program, saved)
    model = await create_language_model(client, fake_lm)

    program = await import_program(
        client,
        signatureSpec="question -> answer",
        adapter="dspy",
        configuration={"lm": model["name"]},
        state=json.loads(saved.read_text()),
        initialize=True,
    )
    assert program["status"] == "READY", program
    executed = await execute(client, program["id"], inputs={"question": QUESTIONS[0]}, wait=True)
    exported = (await client.data(EXPORT, id=program["id"]))["exportProgram"]
    exported_path = tmp_path / "exported.json"
    exported_path.write_text(json.dumps(exported["state"]))

    assert executed["outputs"]["answer"] == KNOWLEDGE[QUESTIONS[0]]["answer"]
    assert exported["state"] == json.loads(saved.read_text())
    answer = await asyncio.to_thread(notebook_answer, exported_path, fake_lm.base_url)
    assert answer == KNOWLEDGE[QUESTIONS[0]]["answer"]


async def test_an_uncompiled_program_exports_its_module(client: GraphQLClient) -> None:
    program = await create_program(client, type="CHAIN_OF_THOUGHT", ready=False)

    exported = (await client.data(EXPORT, id=program["id"]))["exportProgram"]

    assert exported["__typename"] == "ProgramExport", exported
    assert exported["state"]["predict"]["demos"] == []
    assert exported["dspyVersion"]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"no_such_predictor": {"demos": []}}, "state"),
        ("not an object", "state"),
        ({"predict": {"demos": "not a list"}}, "state"),
    ],
)
async def test_a_state_that_does_not_fit_is_refused(
    client: GraphQLClient, state: Any, field: str
) -> None:
    refused = await import_program(
        client, signatureSpec="question -> answer", adapter="dspy", state=state
    )

    assert refused["__typename"] == "ValidationError", refused
    assert [error["field"] for error in refused["fieldErrors"]] == [field]


async def test_exporting_an_unknown_program_is_not_found(client: GraphQLClient) -> None:
    exported = await client.data(EXPORT, id="00000000-0000-0000-0000-000000000000")

    assert exported["exportProgram"]["__typename"] == "NotFoundError"


async def test_without_demos_the_imported_program_does_not_know(
    client: GraphQLClient, fake_lm: FakeLM
) -> None:
    model = await create_language_model(client, fake_lm)
    program = await import_program(
        client,
        signatureSpec="question -> answer",
        adapter="dspy",
        configuration={"lm": model["name"]},
        state={"demos": [], "traces": [], "train": [], "lm": None, "signature": SIGNATURE_STATE},
        initialize=True,
    )

    executed = await execute(client, program["id"], inputs={"question": QUESTIONS[0]}, wait=True)

    assert executed["outputs"]["answer"] == UNKNOWN_ANSWER

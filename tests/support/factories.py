"""Set-up through the public API: what a client would send."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from tests.support.http_client import GraphQLClient
from tests.support.websocket_client import Socket

SIGNATURE = """
fragment SignatureParts on Signature {
  id name description spec instructions version status programCount createdAt updatedAt
  inputs { name type description } outputs { name type description }
}
"""

PROGRAM = """
fragment ProgramParts on Program {
  id name description type implementation adapter status errorMessage configuration version
  performanceMetrics tags visibility createdAt updatedAt lastExecutedAt
  signature { id spec status }
  parent { id } children { id }
  owner { id email }
}
"""

EXECUTION = """
fragment ExecutionParts on Execution {
  id status sequence inputs outputs error variableConfiguration options durationMs
  promptTokens completionTokens cost metadata trace createdAt startedAt completedAt
  program { id } triggeredBy { id }
}
"""

ERROR_SELECTIONS = {
    "ValidationError": "... on ValidationError { fieldErrors { field message code } }",
    "NotFoundError": "... on NotFoundError { id }",
    "QuotaExceededError": "... on QuotaExceededError { limit used }",
}


def errors(*types: str) -> str:
    """Selections for the error members a mutation's result union has."""
    return " ".join(
        ["... on Error { __typename message code }"]
        + [ERROR_SELECTIONS[t] for t in types if t in ERROR_SELECTIONS]
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_signature(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"name": unique("sig"), "spec": "question -> answer"} | fields
    data = await client.data(
        SIGNATURE
        + "mutation($input: CreateSignatureInput!) { createSignature(input: $input) {"
        + " __typename ...SignatureParts "
        + errors("ValidationError")
        + "} }",
        input=given,
    )
    result: dict[str, Any] = data["createSignature"]
    assert result["__typename"] == "Signature", result
    return result


async def create_program(
    client: GraphQLClient, *, ready: bool = True, **fields: Any
) -> dict[str, Any]:
    given = {"name": unique("program"), "signatureSpec": "question -> answer", "initialize": ready}
    data = await client.data(
        PROGRAM
        + "mutation($input: CreateProgramInput!) { createProgram(input: $input) {"
        + " __typename ...ProgramParts "
        + errors("ValidationError", "NotFoundError")
        + "} }",
        input=given | fields,
    )
    result: dict[str, Any] = data["createProgram"]
    assert result["__typename"] == "Program", result
    if ready:
        assert result["status"] == "READY", result
    return result


async def create_language_model(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given = {"name": unique("lm"), "model": "openai/gpt-4o-mini"} | fields
    data = await client.data(
        "mutation($input: CreateLanguageModelInput!) { createLanguageModel(input: $input) {"
        " __typename ... on LanguageModel { id name hasApiKey } "
        + errors("ValidationError")
        + "} }",
        input=given,
    )
    result: dict[str, Any] = data["createLanguageModel"]
    assert result["__typename"] == "LanguageModel", result
    return result


async def execute(client: GraphQLClient, program_id: str, **fields: Any) -> dict[str, Any]:
    """`executeProgram`'s result, whatever its type."""
    given = {"programId": program_id, "inputs": {"question": "What is DSPy?"}} | fields
    data = await client.data(
        EXECUTION
        + "mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {"
        + " __typename ...ExecutionParts "
        + errors("ValidationError", "NotFoundError", "QuotaExceededError")
        + "} }",
        input=given,
    )
    result: dict[str, Any] = data["executeProgram"]
    return result


async def get_execution(client: GraphQLClient, id: str) -> dict[str, Any]:
    data = await client.data(
        EXECUTION + "query($id: ID!) { execution(id: $id) { ...ExecutionParts } }", id=id
    )
    execution: dict[str, Any] = data["execution"]
    return execution


async def until_running(app: FastAPI, credential: str, execution_id: str) -> None:
    """Wait for the RUNNING event of an execution: RUNNING is stored once it is announced."""
    document = "subscription($id: ID!) { executionUpdated(id: $id) { status } }"

    def running(message: dict[str, Any]) -> bool:
        data = message.get("payload", {}).get("data") or {}
        return bool(data.get("executionUpdated", {}).get("status") == "RUNNING")

    async with Socket(app, credential) as socket:
        messages = await socket.subscribe(document, {"id": execution_id}, until=running)
    assert running(messages[-1]), messages

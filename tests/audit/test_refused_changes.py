"""A refused change writes no row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.audit.helpers import (
    CHANGE_PASSWORD,
    CREATE_KEY,
    CREATE_PROGRAM,
    CREATE_SIGNATURE,
    CREATE_USER,
    NEW_PASSWORD,
    SIGN_IN,
    SIGN_UP,
    UPDATE_METRICS,
    UPDATE_ORGANIZATION,
    Node,
    Team,
    by_id,
    log_size,
)
from tests.dags.helpers import CREATE as CREATE_DAG
from tests.dags.helpers import new_dag
from tests.support.factories import create_program, create_signature, execute, unique
from tests.support.http_client import GraphQLClient


def on(signature: Node) -> dict[str, Any]:
    return {"signatureId": signature["id"], "signatureSpec": None}


@dataclass(frozen=True)
class Attempt:
    client: GraphQLClient
    query: str
    variables: Node
    refusal: str
    """The result's __typename, or the top-level error code."""


async def refused_attempt(team: Team, case: str) -> Attempt:
    """Set up (which may itself write rows) and describe one refused mutation."""
    admin, alice, vera = team.admin, team.alice.client, team.vera.client
    variables: Node
    if case == "invalid spec":
        return Attempt(
            admin,
            CREATE_SIGNATURE,
            {"input": {"name": unique("s"), "spec": "a ->"}},
            "ValidationError",
        )
    if case == "unknown adapter":
        signature = await create_signature(admin)
        variables = {"input": {"name": unique("p"), "adapter": "nope", **on(signature)}}
        return Attempt(admin, CREATE_PROGRAM, variables, "ValidationError")
    if case == "wrong password":
        variables = {"email": team.alice.email, "password": "not the password"}
        return Attempt(admin.acting_as(None), SIGN_IN, variables, "ValidationError")
    if case == "wrong current password":
        variables = {"current": "not the password", "new": NEW_PASSWORD}
        return Attempt(alice, CHANGE_PASSWORD, variables, "ValidationError")
    if case == "blank key name":
        return Attempt(alice, CREATE_KEY, {"name": " "}, "ValidationError")
    if case == "unknown signature":
        query = by_id("activateSignature", "Signature")
        return Attempt(admin, query, {"id": str(uuid.uuid4())}, "NotFoundError")
    if case == "private program of another":
        program = await create_program(admin, ready=False)
        query = by_id("archiveProgram", "Program")
        return Attempt(alice, query, {"id": program["id"]}, "NotFoundError")
    if case == "activated twice":
        signature = await create_signature(admin)
        query = by_id("activateSignature", "Signature")
        await admin.data(query, id=signature["id"])
        return Attempt(admin, query, {"id": signature["id"]}, "ConflictError")
    if case == "signature in use":
        program = await create_program(admin, ready=False)
        query = by_id("deleteSignature", "Signature")
        return Attempt(admin, query, {"id": program["signature"]["id"]}, "ConflictError")
    if case == "duplicate DAG name":  # refused at the flush, after its audit row was recorded
        dag = await new_dag(admin)
        variables = {"input": {"name": dag["name"], "definition": dag["definition"]}}
        return Attempt(admin, CREATE_DAG, variables, "ConflictError")
    if case == "duplicate email":
        variables = {"input": {"email": team.alice.email, "name": "Twin"}}
        return Attempt(admin, CREATE_USER, variables, "ConflictError")
    if case == "finished execution":
        program = await create_program(alice)
        execution = await execute(alice, program["id"], wait=True)
        query = by_id("cancelExecution", "Execution")
        return Attempt(alice, query, {"id": execution["id"]}, "ConflictError")
    if case == "viewer creates":
        variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
        return Attempt(vera, CREATE_SIGNATURE, variables, "ForbiddenError")
    if case == "user changes a shared program of another":
        program = await create_program(admin, visibility="ORGANIZATION", ready=False)
        variables = {"id": program["id"], "metrics": {"accuracy": 1.0}}
        return Attempt(alice, UPDATE_METRICS, variables, "ForbiddenError")
    if case == "user creates a user":
        variables = {"input": {"email": f"x-{uuid.uuid4().hex[:6]}@example.test", "name": "X"}}
        return Attempt(alice, CREATE_USER, variables, "ForbiddenError")
    if case == "user updates the organization":
        variables = {"input": {"name": "Mine now"}}
        return Attempt(alice, UPDATE_ORGANIZATION, variables, "ForbiddenError")
    if case == "sign-up disabled":
        variables = {
            "input": {
                "organizationName": "Nope",
                "name": "N",
                "email": f"n-{uuid.uuid4().hex[:6]}@example.test",
                "password": "long enough passphrase",
            }
        }
        return Attempt(admin.acting_as(None), SIGN_UP, variables, "ForbiddenError")
    if case == "no credential":
        variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
        return Attempt(admin.acting_as(None), CREATE_SIGNATURE, variables, "UNAUTHENTICATED")
    assert case == "bad credential"
    variables = {"input": {"name": unique("s"), "spec": "a -> b"}}
    return Attempt(
        admin.acting_as("dsx_0123456789ab_forged"), CREATE_SIGNATURE, variables, "UNAUTHENTICATED"
    )


REFUSALS = [
    "invalid spec",
    "unknown adapter",
    "wrong password",
    "wrong current password",
    "blank key name",
    "unknown signature",
    "private program of another",
    "activated twice",
    "signature in use",
    "duplicate DAG name",
    "duplicate email",
    "finished execution",
    "viewer creates",
    "user changes a shared program of another",
    "user creates a user",
    "user updates the organization",
    "sign-up disabled",
    "no credential",
    "bad credential",
]


class TestRefusedChangesAreNotAudited:
    @pytest.mark.parametrize("case", REFUSALS)
    async def test_no_row_is_written(self, team: Team, case: str) -> None:
        attempt = await refused_attempt(team, case)
        before = await log_size(team.admin)

        body = await attempt.client.execute(attempt.query, **attempt.variables)

        if attempt.refusal == "UNAUTHENTICATED":
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        else:
            assert not body.get("errors"), body
            [result] = body["data"].values()
            assert result["__typename"] == attempt.refusal, result
        assert await log_size(team.admin) == before

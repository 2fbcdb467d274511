"""Changes to signatures, programs and executions are audited."""

from __future__ import annotations

import uuid

from tests.audit.helpers import (
    CLIENT_ADDRESS,
    CREATE_PROGRAM,
    CREATE_SIGNATURE,
    UPDATE_METRICS,
    UPDATE_PROGRAM,
    UPDATE_SIGNATURE,
    USER_AGENT,
    Team,
    by_id,
    check_row,
    send,
)
from tests.support.factories import create_program, create_signature, execute, unique

SLOW = {"latency_ms": 60_000}

CLONE_PROGRAM = """mutation($id: ID!, $name: String!) { cloneProgram(id: $id, name: $name) {
  __typename ... on Program { id } ... on Error { message code } } }"""

EXECUTE = """mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id status } ... on Error { message code } } }"""


class TestSignatureChangesAreAudited:
    async def test_create(self, team: Team) -> None:
        name = unique("sig")

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_SIGNATURE,
            input={
                "name": name,
                "spec": "question, context: list[str] -> answer",
                "visibility": "ORGANIZATION",
            },
        )

        created = sent.data["createSignature"]
        await check_row(
            team.admin,
            sent,
            action="signature.create",
            resource_type="Signature",
            resource_id=created["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "version": "1.0.0",
                "spec": "question: str, context: list[str] -> answer: str",
                "visibility": "ORGANIZATION",
            },
        )

    async def test_update(self, team: Team) -> None:
        signature = await create_signature(team.admin)

        sent = await send(
            team.admin,
            team.admin,
            UPDATE_SIGNATURE,
            id=signature["id"],
            input={"description": "new", "instructions": "Be brief."},
        )

        assert sent.data["updateSignature"]["__typename"] == "Signature"
        await check_row(
            team.admin,
            sent,
            action="signature.update",
            resource_type="Signature",
            resource_id=signature["id"],
            actor=team.tenant.admin_id,
            changes={"description": "new", "instructions": "Be brief."},
        )

    async def test_activate_and_deprecate(self, team: Team) -> None:
        signature = await create_signature(team.admin)

        activated = await send(
            team.admin, team.admin, by_id("activateSignature", "Signature"), id=signature["id"]
        )
        deprecated = await send(
            team.admin, team.admin, by_id("deprecateSignature", "Signature"), id=signature["id"]
        )

        for sent, action, change in [
            (activated, "signature.activate", ["DRAFT", "ACTIVE"]),
            (deprecated, "signature.deprecate", ["ACTIVE", "DEPRECATED"]),
        ]:
            await check_row(
                team.admin,
                sent,
                action=action,
                resource_type="Signature",
                resource_id=signature["id"],
                actor=team.tenant.admin_id,
                changes={"status": change},
            )

    async def test_delete(self, team: Team) -> None:
        signature = await create_signature(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            by_id("deleteSignature", "Signature"),
            id=signature["id"],
        )

        assert sent.data["deleteSignature"]["__typename"] == "Signature"
        await check_row(
            team.admin,
            sent,
            action="signature.delete",
            resource_type="Signature",
            resource_id=signature["id"],
            actor=team.alice.id,
            changes={"name": signature["name"], "version": "1.0.0"},
        )


class TestProgramChangesAreAudited:
    async def test_create_on_an_existing_signature(self, team: Team) -> None:
        signature = await create_signature(team.alice.client)
        name = unique("program")

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_PROGRAM,
            input={
                "name": name,
                "signatureId": signature["id"],
                "configuration": {"temperature": 0.2},
                "tags": ["qa"],
            },
        )

        program = sent.data["createProgram"]
        await check_row(
            team.admin,
            sent,
            action="program.create",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "type": "PREDICT",
                "adapter": "mock",
                "implementation": None,
                "signatureId": signature["id"],
                "configuration": {"temperature": 0.2},
                "tags": ["qa"],
                "visibility": "PRIVATE",
                "variableSpaceId": None,
            },
        )

    async def test_create_with_a_new_signature_and_initialization(self, team: Team) -> None:
        tag = uuid.uuid4().hex[:8]
        spec = f"text_{tag}: str -> label_{tag}: str"

        sent = await send(
            team.alice.client,
            team.admin,
            CREATE_PROGRAM,
            input={"name": unique("program"), "signatureSpec": spec, "initialize": True},
        )

        program = sent.data["createProgram"]
        assert program["status"] == "READY"
        actions = sorted(row["action"] for row in sent.rows)
        assert actions == ["program.create", "program.initialize", "signature.create"]
        assert sent.row("signature.create")["resourceId"] == program["signature"]["id"]
        assert sent.row("signature.create")["changes"]["spec"] == spec
        assert sent.row("program.create")["resourceId"] == program["id"]
        assert sent.row("program.create")["changes"]["signatureId"] == program["signature"]["id"]
        initialized = sent.row("program.initialize")
        assert initialized["resourceId"] == program["id"]
        assert initialized["changes"] == {"status": ["DRAFT", "INITIALIZING"]}
        for row in sent.rows:
            assert row["actor"] == {"id": team.alice.id}
            assert (row["ipAddress"], row["userAgent"]) == (CLIENT_ADDRESS, USER_AGENT)

    async def test_update(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)

        sent = await send(
            team.alice.client,
            team.admin,
            UPDATE_PROGRAM,
            id=program["id"],
            input={"name": "renamed", "tags": ["a", "b"], "description": None},
        )

        assert sent.data["updateProgram"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.update",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"name": "renamed", "tags": ["a", "b"], "description": None},
        )

    async def test_update_names_changed_fields_as_the_api_does(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)
        signature = await create_signature(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            UPDATE_PROGRAM,
            id=program["id"],
            input={"signatureId": signature["id"]},
        )

        assert sent.row("program.update")["changes"] == {"signatureId": signature["id"]}

    async def test_initialize(self, team: Team) -> None:
        program = await create_program(team.alice.client, ready=False)

        sent = await send(
            team.alice.client, team.admin, by_id("initializeProgram", "Program"), id=program["id"]
        )

        assert sent.data["initializeProgram"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.initialize",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"status": ["DRAFT", "INITIALIZING"]},
        )

    async def test_clone(self, team: Team) -> None:
        source = await create_program(team.admin, visibility="ORGANIZATION")
        name = unique("clone")

        sent = await send(team.alice.client, team.admin, CLONE_PROGRAM, id=source["id"], name=name)

        clone = sent.data["cloneProgram"]
        row = await check_row(
            team.admin,
            sent,
            action="program.clone",
            resource_type="Program",
            resource_id=clone["id"],
            actor=team.alice.id,
            changes={
                "name": name,
                "type": "PREDICT",
                "adapter": "mock",
                "implementation": None,
                "signatureId": source["signature"]["id"],
                "configuration": {},
                "tags": [],
                "visibility": "ORGANIZATION",
                "variableSpaceId": None,
                "parentId": source["id"],
            },
        )
        assert row["resourceId"] != source["id"]

    async def test_archive(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.alice.client, team.admin, by_id("archiveProgram", "Program"), id=program["id"]
        )

        await check_row(
            team.admin,
            sent,
            action="program.archive",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.alice.id,
            changes={"status": ["READY", "ARCHIVED"]},
        )

    async def test_update_metrics(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.admin,
            team.admin,
            UPDATE_METRICS,
            id=program["id"],
            metrics={"accuracy": 0.9, "notes": {"run": 3}, "stale": None},
        )

        assert sent.data["updateProgramMetrics"]["__typename"] == "Program"
        await check_row(
            team.admin,
            sent,
            action="program.updateMetrics",
            resource_type="Program",
            resource_id=program["id"],
            actor=team.tenant.admin_id,
            changes={"metrics": {"accuracy": 0.9, "notes": {"run": 3}, "stale": None}},
        )


class TestExecutionChangesAreAudited:
    async def test_start(self, team: Team) -> None:
        program = await create_program(team.alice.client)

        sent = await send(
            team.alice.client,
            team.admin,
            EXECUTE,
            input={"programId": program["id"], "inputs": {"question": "Why?"}, "wait": True},
        )

        execution = sent.data["executeProgram"]
        assert execution["status"] == "COMPLETED"
        await check_row(
            team.admin,
            sent,
            action="execution.start",
            resource_type="Execution",
            resource_id=execution["id"],
            actor=team.alice.id,
            changes={"programId": program["id"], "inputs": ["question"]},
        )

    async def test_cancel(self, team: Team) -> None:
        program = await create_program(team.alice.client, configuration=SLOW)
        execution = await execute(team.alice.client, program["id"])

        sent = await send(
            team.alice.client,
            team.admin,
            by_id("cancelExecution", "Execution"),
            id=execution["id"],
        )

        assert sent.data["cancelExecution"]["__typename"] == "Execution"
        [row] = sent.rows
        assert row["changes"]["status"][0] in ("PENDING", "RUNNING")
        await check_row(
            team.admin,
            sent,
            action="execution.cancel",
            resource_type="Execution",
            resource_id=execution["id"],
            actor=team.alice.id,
            changes={"status": [row["changes"]["status"][0], "CANCELLED"]},
        )

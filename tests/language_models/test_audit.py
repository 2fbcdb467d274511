"""The audit rows of changes to language models: what changed, never the key."""

from __future__ import annotations

from fastapi import FastAPI

from tests.language_models.helpers import (
    API_KEY,
    DELETE,
    UPDATE,
    audit_rows,
    create,
    dspy_program,
    language_model,
    run,
)
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import Tenant


class TestAudit:
    async def test_create_update_delete_each_write_one_row(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        created = await language_model(
            client, name="fast", apiKey=API_KEY, defaults={"temperature": 0.5}
        )
        id = created["id"]
        await run(client, UPDATE, id=id, input={"maxConcurrency": 2, "apiKey": API_KEY + "-new"})
        await run(client, UPDATE, id=id, input={"apiKey": None, "baseUrl": None})
        await run(client, DELETE, id=id)

        [create_row] = await audit_rows(client, "languageModel.create")
        update_rows = await audit_rows(client, "languageModel.update")
        [delete_row] = await audit_rows(client, "languageModel.delete")

        assert create_row == {
            "resourceType": "LanguageModel",
            "resourceId": id,
            "actor": {"id": tenant.admin_id},
            "changes": {
                "name": "fast",
                "model": "openai/gpt-4o-mini",
                "baseUrl": None,
                "apiKey": "[redacted]",
                "defaults": {"temperature": 0.5},
                "promptPricePerMillion": None,
                "completionPricePerMillion": None,
                "maxConcurrency": 8,
                "requestsPerMinute": None,
                "visibility": "PRIVATE",
            },
        }
        assert [row["changes"] for row in update_rows] == [
            {"apiKey": None, "baseUrl": None},
            {"maxConcurrency": 2, "apiKey": "[redacted]"},
        ]
        assert delete_row["changes"] == {"name": "fast"}

    async def test_a_refused_change_writes_nothing(
        self, app: FastAPI, client: GraphQLClient, tenant: Tenant
    ) -> None:
        vera = await member(client, "VIEWER")
        used = await language_model(client, name="used", visibility="ORGANIZATION")
        await dspy_program(app, client, tenant.organization_id, {"lm": "used"})
        id = used["id"]

        refused = [
            await create(client, model="no-slash"),
            await create(client, name="used"),
            await create(vera.client),
            await run(client, UPDATE, id=id, input={"name": None}),
            await run(client, UPDATE, id=id, input={"name": "renamed"}),
            await run(vera.client, UPDATE, id=id, input={"maxConcurrency": 1}),
            await run(client, DELETE, id=id),
            await run(vera.client, DELETE, id=id),
        ]

        assert [result["__typename"] for result in refused] == [
            "ValidationError",
            "ConflictError",
            "ForbiddenError",
            "ValidationError",
            "ConflictError",
            "ForbiddenError",
            "ConflictError",
            "ForbiddenError",
        ]
        assert len(await audit_rows(client, "languageModel.create")) == 1
        assert await audit_rows(client, "languageModel.update") == []
        assert await audit_rows(client, "languageModel.delete") == []

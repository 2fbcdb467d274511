"""The log cannot be changed, even in the database."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.audit.helpers import every_row
from tests.support.factories import create_signature
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant


async def commit(engine: AsyncEngine, statement: str, organization: uuid.UUID) -> None:
    """Run `statement` on one organization's rows and commit, as someone with the database's
    credentials could."""
    query = text(statement).bindparams(bindparam("organization", type_=Uuid()))
    async with engine.connect() as connection:
        await connection.execute(query, {"organization": organization})
        await connection.commit()


TAMPERING = {
    "update": "UPDATE audit_logs SET action = 'x' WHERE organization_id = :organization",
    "delete": "DELETE FROM audit_logs WHERE organization_id = :organization",
}


class TestImmutability:
    @pytest.mark.parametrize("how", list(TAMPERING))
    async def test_the_database_refuses_to_change_rows(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient, how: str
    ) -> None:
        await create_signature(client)
        before = await every_row(client)
        engine: AsyncEngine = app.state.runtime.engine

        with pytest.raises(DBAPIError, match="audit log rows are immutable"):
            await commit(engine, TAMPERING[how], uuid.UUID(tenant.organization_id))

        assert len(before) == 3
        assert await every_row(client) == before

    @pytest.mark.parametrize(
        "statement", ["UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs"]
    )
    async def test_statements_on_the_whole_table_are_refused(
        self, app: FastAPI, client: GraphQLClient, statement: str
    ) -> None:
        before = await every_row(client)
        engine: AsyncEngine = app.state.runtime.engine

        async with engine.connect() as connection:  # never committed, whatever happens
            with pytest.raises(DBAPIError, match="audit log rows are immutable"):
                await connection.execute(text(statement))

        assert await every_row(client) == before

    async def test_truncate_is_refused_on_postgresql(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        engine: AsyncEngine = app.state.runtime.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("TRUNCATE is a PostgreSQL statement")
        before = await every_row(client)

        async with engine.connect() as connection:  # never committed, whatever happens
            with pytest.raises(DBAPIError, match="audit log rows are immutable"):
                await connection.execute(text("TRUNCATE audit_logs"))

        assert await every_row(client) == before

    async def test_no_mutation_touches_the_audit_log(self, client: GraphQLClient) -> None:
        data = await client.data(
            """{ __schema { mutationType { fields { name
              type { ofType { name possibleTypes { name } } } } } } }"""
        )

        fields = data["__schema"]["mutationType"]["fields"]
        assert len(fields) > 20
        for field in fields:
            assert "audit" not in field["name"].lower()
            results = field["type"]["ofType"]["possibleTypes"] or [field["type"]["ofType"]]
            assert "AuditLog" not in {result["name"] for result in results}

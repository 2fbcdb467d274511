"""Two requests racing past the same "is it free?" check meet the database's unique index: the
loser gets a ConflictError, not an internal error. Shown directly: the row is inserted as the
winner would have, then the loser flushes."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from dspex_gql.accounts.models import User
from dspex_gql.db.repository import flush_unique
from dspex_gql.errors import Conflict
from dspex_gql.identity import Role
from dspex_gql.runtime import Runtime
from tests.support.tenants import Tenant


async def test_a_unique_violation_at_flush_is_a_conflict(app: FastAPI, tenant: Tenant) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.uow.read() as tx:
        organization_id = uuid.UUID(tenant.organization_id)
        tx.session.add(
            User(
                organization_id=organization_id,
                email=tenant.admin_email,
                name="again",
                role=Role.USER,
            )
        )

        with pytest.raises(Conflict, match="taken"):
            await flush_unique(tx.session, Conflict("taken"))


async def test_other_integrity_errors_stay_errors(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.uow.read() as tx:
        tx.session.add(
            User(
                organization_id=uuid.uuid4(),
                email=f"{uuid.uuid4().hex}@x.test",
                name="n",
                role=Role.USER,
            )
        )

        with pytest.raises(IntegrityError):
            await flush_unique(tx.session, Conflict("taken"))

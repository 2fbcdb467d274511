"""Organizations for tests, made the way an operator makes them (`dspex-gql create-org`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import FastAPI

from dspex_gql.accounts.organizations import create_organization
from dspex_gql.runtime import Runtime


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    slug: str
    admin_id: str
    admin_email: str
    admin_key: str


async def new_tenant(app: FastAPI, name: str | None = None) -> Tenant:
    runtime: Runtime = app.state.runtime
    suffix = uuid.uuid4().hex[:10]
    async with runtime.uow() as tx:
        created = await create_organization(
            tx, name or f"test-{suffix}", f"admin-{suffix}@example.test"
        )
    assert created.admin_key is not None
    return Tenant(
        organization_id=str(created.organization.id),
        slug=created.organization.slug,
        admin_id=str(created.admin.id),
        admin_email=created.admin.email,
        admin_key=created.admin_key,
    )

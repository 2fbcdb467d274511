"""Operator commands (the CLI): they run with the database's own settings, outside any request."""

from __future__ import annotations

from dspex_gql.accounts.organizations import NewOrganization, create_organization
from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.accounts.service import normalized_email, user_problems
from dspex_gql.config import Settings
from dspex_gql.db import migrations
from dspex_gql.db.engine import create_engine, create_session_factory
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.errors import NotFound, ValidationFailed


async def create_org(
    settings: Settings,
    name: str,
    admin_email: str,
    admin_name: str = "Admin",
    compute_quota_seconds: float | None = None,
) -> NewOrganization:
    email = normalized_email(admin_email)
    problems = user_problems(email, admin_name, None)
    if problems:
        raise ValidationFailed(problems)
    engine = create_engine(settings.database)
    try:
        if settings.database.migrate_on_start:
            await migrations.upgrade(settings.database.url)
        async with UnitOfWorkFactory(create_session_factory(engine))() as tx:
            created = await create_organization(tx, name, email, admin_name=admin_name)
            created.organization.compute_quota_seconds = compute_quota_seconds
        return created
    finally:
        await engine.dispose()


async def set_quota(settings: Settings, slug: str, seconds: float | None) -> None:
    engine = create_engine(settings.database)
    try:
        async with UnitOfWorkFactory(create_session_factory(engine))() as tx:
            organization = await OrganizationRepository(tx.session).by_slug(slug)
            if organization is None:
                raise NotFound("Organization", slug)
            organization.compute_quota_seconds = seconds
    finally:
        await engine.dispose()

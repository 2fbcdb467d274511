"""Operator commands (the CLI): they run with the database's own settings, outside any request.

API keys are created, listed and revoked by the same `AccountService` the GraphQL API uses, acting
as a user of the organization (the key's owner, or its oldest active admin). A revocation is told
to every replica through the pub/sub hub, as when it is made over the API.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.key_cache import KeyCache
from dspex_gql.accounts.keys import parse_key
from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.accounts.organizations import NewOrganization, create_organization
from dspex_gql.accounts.passwords import Passwords
from dspex_gql.accounts.repository import (
    CredentialRepository,
    OrganizationRepository,
    UserRepository,
)
from dspex_gql.accounts.service import AccountService, normalized_email, user_problems
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.config import AuthSettings, Settings
from dspex_gql.db import migrations
from dspex_gql.db.engine import create_engine
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.errors import NotFound, ValidationFailed
from dspex_gql.identity import Actor, Origin
from dspex_gql.pubsub import Hub

OPERATOR = Origin(user_agent="dspex-gql (command line)")
"""What the audit log records as the origin of an operator's command."""
NOWHERE = "memory://"


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    owner: User
    secret: str
    """The whole key, `dsx_<prefix>_<secret>`, shown once."""


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
    if settings.database.migrate_on_start:
        await migrations.upgrade(settings.database.url)
    async with _database(settings) as uow, uow() as tx:
        created = await create_organization(tx, name, email, admin_name=admin_name)
        created.organization.compute_quota_seconds = compute_quota_seconds
    return created


async def set_quota(settings: Settings, slug: str, seconds: float | None) -> None:
    async with _database(settings) as uow, uow() as tx:
        organization = await _organization(OrganizationRepository(tx.session), slug)
        organization.compute_quota_seconds = seconds


async def create_key(
    settings: Settings, slug: str, name: str, owner_email: str | None, expires_at: datetime | None
) -> NewKey:
    """A key of `owner_email` (default: the organization's oldest active admin)."""
    async with _accounts(settings, slug, owner_email, NOWHERE) as (accounts, owner):
        key, secret = await accounts.create_api_key(name, expires_at)
    return NewKey(key, owner, secret)


async def list_keys(settings: Settings, slug: str) -> list[tuple[ApiKey, User]]:
    async with _accounts(settings, slug, None, NOWHERE) as (accounts, _admin):
        return await accounts.organization_api_keys()


async def revoke_key(settings: Settings, slug: str, key: str) -> ApiKey:
    """`key`: its id, its prefix, or the whole key. Every replica forgets it at once."""
    async with _accounts(settings, slug, None, settings.broadcast.url) as (accounts, _admin):
        return await accounts.revoke_api_key(await _key_id(accounts, key))


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(settings.database)
    try:
        yield UnitOfWorkFactory.of(engine, settings.database)
    finally:
        await engine.dispose()


@asynccontextmanager
async def _accounts(
    settings: Settings, slug: str, email: str | None, hub_url: str
) -> AsyncIterator[tuple[AccountService, User]]:
    """The account service acting as `email` of the organization `slug` (default: its oldest
    active admin), publishing on `hub_url`."""
    async with _database(settings) as uow, Hub(hub_url) as hub:
        async with uow.read() as tx:
            organization = await _organization(OrganizationRepository(tx.session), slug)
            user = await _acting_user(tx.session, organization, email)
        actor = Actor(user.id, organization.id, user.role, origin=OPERATOR)
        no_attempt_limits = _NoAttemptLimits()
        passwords, tokens = Passwords(settings.auth), Tokens(_never_signing(settings.auth))
        accounts = AccountService(
            uow, actor, passwords, tokens, no_attempt_limits, hub, KeyCache(hub, 0)
        )
        yield accounts, user


async def _organization(organizations: OrganizationRepository, slug: str) -> Organization:
    organization = await organizations.by_slug(slug)
    if organization is None:
        raise NotFound("Organization", slug)
    return organization


async def _acting_user(
    session: AsyncSession, organization: Organization, email: str | None
) -> User:
    if email is None:
        admin = await UserRepository(session, organization.id).oldest_active_admin()
        if admin is None:
            raise ValueError(f"organization {organization.slug!r} has no active admin")
        return admin
    user = await CredentialRepository(session).user_by_email(normalized_email(email))
    if user is None or user.organization_id != organization.id:
        raise NotFound("User", email)
    if not user.active:
        raise ValueError(f"user {email!r} is deactivated: their keys would not work")
    return user


async def _key_id(accounts: AccountService, key: str) -> UUID:
    try:
        return UUID(key)
    except ValueError:
        pass
    parts = parse_key(key)
    prefix = parts.prefix if parts is not None else key
    for known, _owner in await accounts.organization_api_keys():
        if known.prefix == prefix:
            return known.id
    raise NotFound("ApiKey", key)


def _never_signing(auth: AuthSettings) -> AuthSettings:
    """Operators issue no tokens: any key will do, and no warning that one is missing."""
    return auth.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(48))})


class _NoAttemptLimits:
    """Operators do not sign in: nothing to limit (only password changes would ask)."""

    async def limit_attempt(self, email: str, origin: Origin) -> None:
        return None

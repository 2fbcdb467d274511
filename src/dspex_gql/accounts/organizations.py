"""Creating organizations: `dspex-gql create-org`, first start, and (when enabled) sign-up."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from dspex_gql.accounts.keys import new_key, secret_hash
from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.accounts.passwords import Passwords
from dspex_gql.accounts.repository import (
    CredentialRepository,
    OrganizationRepository,
    UserRepository,
)
from dspex_gql.accounts.service import (
    EMAIL_TAKEN,
    ensure_email_free,
    normalized_email,
    user_problems,
)
from dspex_gql.audit import recorder as audit
from dspex_gql.config import AdminSettings
from dspex_gql.db.repository import flush_unique
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.errors import Conflict
from dspex_gql.identity import Actor, Origin, Role

logger = logging.getLogger(__name__)

SLUG_RACE = "Another organization with this name was created at the same moment; try again"
FIRST_ORGANIZATION = "default"
FIRST_ADMIN_EMAIL = "admin@localhost"


@dataclass(frozen=True)
class NewOrganization:
    organization: Organization
    admin: User
    admin_key: str | None
    """The admin's first API key, shown once."""


async def create_organization(
    tx: UnitOfWork,
    name: str,
    admin_email: str,
    *,
    admin_name: str = "Admin",
    password_hash: str | None = None,
    with_key: bool = True,
    origin: Origin | None = None,
) -> NewOrganization:
    await ensure_email_free(tx, admin_email)
    organizations = OrganizationRepository(tx.session)
    slug = await _free_slug(organizations, name)
    organization = organizations.add(Organization(name=name.strip(), slug=slug))
    await flush_unique(tx.session, Conflict(SLUG_RACE))
    users = UserRepository(tx.session, organization.id)
    admin = User(email=admin_email, name=admin_name, role=Role.ADMIN, password_hash=password_hash)
    users.add(admin)
    await flush_unique(tx.session, Conflict(EMAIL_TAKEN))
    actor = Actor(admin.id, organization.id, Role.ADMIN, origin=origin or Origin())
    audit.record(
        tx,
        actor,
        "organization.create",
        "Organization",
        organization.id,
        {"name": organization.name, "slug": slug, "adminEmail": admin_email},
    )
    key = await _first_key(tx, actor) if with_key else None
    return NewOrganization(organization, admin, key)


async def bootstrap(uow: UnitOfWorkFactory) -> str | None:
    """On a database nobody can sign in to, create the first organization and admin and return
    the admin's API key (to be shown once); otherwise None."""
    async with uow() as tx:
        if await CredentialRepository(tx.session).has_credentials():
            return None
        existing = await OrganizationRepository(tx.session).by_slug(FIRST_ORGANIZATION)
        if existing is None:
            created = await create_organization(tx, FIRST_ORGANIZATION, FIRST_ADMIN_EMAIL)
            return created.admin_key
        admin = await CredentialRepository(tx.session).first_admin()
        assert admin is not None, "an existing organization has an admin"
        return await _first_key(tx, Actor(admin.id, admin.organization_id, Role.ADMIN))


async def seed_admin(uow: UnitOfWorkFactory, passwords: Passwords, admin: AdminSettings) -> bool:
    """DSPEX_ADMIN_*: make the admin (and its organization, if missing) unless a user with its
    email exists; True when made. Replicas starting together: one makes it, the others' insert
    conflicts, and their second look finds it."""
    if admin.email is None or admin.password is None:
        return False
    refuse_a_bad_admin(admin)
    email, password = normalized_email(admin.email), admin.password.get_secret_value()
    password_hash = await passwords.hash(password)
    try:
        made = await _seed(uow, admin, email, password_hash)
    except Conflict:
        made = await _seed(uow, admin, email, password_hash)
    if made:
        logger.info("Made the admin %s of %r (DSPEX_ADMIN_*)", email, admin.organization)
    return made


def refuse_a_bad_admin(admin: AdminSettings) -> None:
    """Before the service starts: DSPEX_ADMIN_* must make a valid user."""
    if admin.email is None or admin.password is None:
        return
    problems = user_problems(
        normalized_email(admin.email), admin.name, admin.password.get_secret_value()
    )
    if problems:
        said = "; ".join(f"{problem.field} {problem.message}" for problem in problems)
        raise ValueError(f"DSPEX_ADMIN_*: the first admin's {said}")


async def _seed(
    uow: UnitOfWorkFactory, admin: AdminSettings, email: str, password_hash: str
) -> bool:
    async with uow() as tx:
        if await CredentialRepository(tx.session).user_by_email(email) is not None:
            return False
        organizations = OrganizationRepository(tx.session)
        existing = await organizations.by_slug(slug_stem(admin.organization))
        if existing is None:
            await create_organization(
                tx, admin.organization, email, admin_name=admin.name,
                password_hash=password_hash, with_key=False,
            )  # fmt: skip
            return True
        user = User(email=email, name=admin.name, role=Role.ADMIN, password_hash=password_hash)
        UserRepository(tx.session, existing.id).add(user)
        await flush_unique(tx.session, Conflict(EMAIL_TAKEN))
        actor = Actor(user.id, existing.id, Role.ADMIN, origin=Origin(user_agent="settings"))
        audit.record(tx, actor, "user.create", "User", user.id, {"email": email, "role": "ADMIN"})
        return True


async def _first_key(tx: UnitOfWork, admin: Actor) -> str:
    parts = new_key()
    key = ApiKey(
        organization_id=admin.organization_id,
        user_id=admin.user_id,
        created_by=admin.user_id,
        name="first admin key",
        prefix=parts.prefix,
        secret_hash=secret_hash(parts.secret),
    )
    tx.session.add(key)
    await tx.session.flush()
    audit.record(
        tx, admin, "apiKey.create", "ApiKey", key.id, {"name": key.name, "prefix": key.prefix}
    )
    return str(parts)


def slug_stem(name: str) -> str:
    """The slug an organization of this name gets when it is the first of its name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "organization"


async def _free_slug(organizations: OrganizationRepository, name: str) -> str:
    stem = slug_stem(name)
    taken = await organizations.slugs_like(stem)
    if stem not in taken:
        return stem
    number = 2
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"

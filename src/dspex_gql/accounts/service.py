from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from dspex_gql.accounts.actor import Actor
from dspex_gql.accounts.models import Organization, Role, User
from dspex_gql.accounts.repository import OrganizationRepository, UserRepository
from dspex_gql.db.uow import UnitOfWorkFactory


class AccountService:
    def __init__(self, uow: UnitOfWorkFactory, actor: Actor) -> None:
        self._uow = uow
        self._actor = actor

    async def users(self, ids: Iterable[UUID]) -> dict[UUID, User]:
        async with self._uow.read() as tx:
            return await UserRepository(tx.session, self._actor.organization_id).get_many(ids)


async def ensure_local_actor(uow: UnitOfWorkFactory, slug: str) -> Actor:
    """The organization named `slug` and its first admin, created on first use.

    Every request acts as this local admin until accounts and authentication land.
    """
    async with uow() as tx:
        organizations = OrganizationRepository(tx.session)
        organization = await organizations.by_slug(slug)
        if organization is None:
            organization = organizations.add(Organization(name=slug, slug=slug))
            await tx.session.flush()
        users = UserRepository(tx.session, organization.id)
        admin = await users.first_admin()
        if admin is None:
            email = f"admin@{slug}.local"
            admin = users.add(User(email=email, name="Local admin", role=Role.ADMIN))
            await tx.session.flush()
        return Actor(user_id=admin.id, organization_id=organization.id, role=admin.role)

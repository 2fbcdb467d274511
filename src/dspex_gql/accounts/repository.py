from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.models import Organization, User


class OrganizationRepository:
    """Organizations are the tenants themselves, so this one is not tenant-scoped."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> Organization | None:
        query = select(Organization).where(Organization.slug == slug)
        return (await self.session.scalars(query)).one_or_none()

    def add(self, organization: Organization) -> Organization:
        self.session.add(organization)
        return organization


class UserRepository:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, User]:
        query = select(User).where(
            User.organization_id == self.organization_id, User.id.in_(set(ids))
        )
        return {user.id: user for user in await self.session.scalars(query)}

    async def first_admin(self) -> User | None:
        query = (
            select(User)
            .where(User.organization_id == self.organization_id, User.role == "ADMIN")
            .order_by(User.created_at)
            .limit(1)
        )
        return (await self.session.scalars(query)).one_or_none()

    def add(self, user: User) -> User:
        user.organization_id = self.organization_id
        self.session.add(user)
        return user

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, Float, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import TenantRepository
from dspex_gql.db.sql import remembered
from dspex_gql.executions.models import Execution
from dspex_gql.identity import Role


class OrganizationRepository:
    """Organizations are the tenants themselves, so this one is not tenant-scoped."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id: UUID) -> Organization | None:
        return await self.session.get(Organization, id)

    async def by_slug(self, slug: str) -> Organization | None:
        query = select(Organization).where(Organization.slug == slug)
        return (await self.session.scalars(query)).one_or_none()

    async def slugs_like(self, stem: str) -> set[str]:
        query = select(Organization.slug).where(Organization.slug.startswith(stem))
        return set(await self.session.scalars(query))

    async def any(self) -> bool:
        return (await self.session.scalar(select(func.count()).select_from(Organization))) != 0

    async def execution_count(self, id: UUID) -> int:
        query = select(func.count()).where(Execution.organization_id == id)
        return int(await self.session.scalar(query) or 0)

    async def add_compute(self, id: UUID, seconds: float) -> bool:
        """Count compute used; True while the organization has some left (or no quota)."""
        statement = remembered("add compute", _adding_compute)
        found = await self.session.execute(statement, {"row_id": id, "seconds": seconds})
        now_used, quota = found.one()
        return quota is None or now_used < quota

    def add(self, organization: Organization) -> Organization:
        self.session.add(organization)
        return organization


class UserRepository(TenantRepository[User]):
    model = User
    resource = "User"
    listing = Listing(
        fields={
            "email": User.email,
            "name": User.name,
            "role": User.role,
            "active": User.active,
            "created_at": User.created_at,
        },
        id=User.id,
        default_order=(SortKey("created_at"),),
    )

    async def active_admins(self) -> int:
        query = select(func.count()).where(
            User.organization_id == self.organization_id,
            User.role == Role.ADMIN,
            User.active.is_(True),
        )
        return int(await self.session.scalar(query) or 0)

    async def oldest_active_admin(self) -> User | None:
        query = (
            self._select()
            .where(User.role == Role.ADMIN, User.active.is_(True))
            .order_by(User.created_at, User.id)
            .limit(1)
        )
        return (await self.session.scalars(query)).one_or_none()


class ApiKeyRepository(TenantRepository[ApiKey]):
    model = ApiKey
    resource = "ApiKey"
    listing = Listing(fields={"created_at": ApiKey.created_at}, id=ApiKey.id)

    def _visible(self) -> ColumnElement[bool] | None:
        """Keys are their owner's business (and admins')."""
        if self.reader is None or self.reader.is_admin:
            return None
        return ApiKey.user_id == self.reader.user_id

    async def of_user(self, user_id: UUID) -> list[ApiKey]:
        query = self._select().where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
        return list(await self.session.scalars(query))

    async def with_owners(self) -> list[tuple[ApiKey, User]]:
        """Every key the reader may see, with its owner, oldest first."""
        query = (
            self._select()
            .add_columns(User)
            .join(User, User.id == ApiKey.user_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        return [(key, owner) for key, owner in (await self.session.execute(query)).tuples()]


class CredentialRepository:
    """Lookups that come before tenancy: whose credential is this?"""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def key_and_owner(self, prefix: str) -> tuple[ApiKey, User] | None:
        query = select(ApiKey, User).join(User, User.id == ApiKey.user_id)
        row = (await self.session.execute(query.where(ApiKey.prefix == prefix))).one_or_none()
        return None if row is None else (row[0], row[1])

    async def key(self, id: UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, id)

    async def user(self, id: UUID) -> User | None:
        return await self.session.get(User, id)

    async def user_by_email(self, email: str) -> User | None:
        query = select(User).where(User.email == email)
        return (await self.session.scalars(query)).one_or_none()

    async def first_admin(self) -> User | None:
        query = (
            select(User)
            .where(User.role == Role.ADMIN, User.active.is_(True))
            .order_by(User.created_at)
            .limit(1)
        )
        return (await self.session.scalars(query)).one_or_none()

    async def has_credentials(self) -> bool:
        keys = select(func.count()).select_from(ApiKey)
        passwords = select(func.count()).where(User.password_hash.is_not(None))
        return bool(await self.session.scalar(keys)) or bool(await self.session.scalar(passwords))

    async def touch_key(self, id: UUID, when: datetime) -> None:
        await self.session.execute(update(ApiKey).where(ApiKey.id == id).values(last_used_at=when))


def _adding_compute() -> Update:
    used = Organization.compute_used_seconds + bindparam("seconds", type_=Float)
    return (
        update(Organization)
        .where(Organization.id == bindparam("row_id"))
        .values(compute_used_seconds=used)
        .returning(Organization.compute_used_seconds, Organization.compute_quota_seconds)
        .execution_options(synchronize_session=False)
    )

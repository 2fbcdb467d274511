from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts import models
from dspex_gql.accounts.service import SignedIn
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.identity import Role

strawberry.enum(Role)


@strawberry.type
class Organization:
    id: strawberry.ID
    name: str
    slug: str
    settings: JSON
    compute_quota_seconds: float | None = strawberry.field(
        description="Compute time its executions may use; null is unlimited."
    )
    compute_used_seconds: float

    @strawberry.field
    async def total_executions(self, info: Info) -> int:
        return await info.context.services.accounts.execution_count()

    @strawberry.field(description="Admins only.")
    async def users(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[User]:
        service = info.context.services.accounts
        await service.ensure_admin("list users")
        return await connection(service, list_request(info, first=first, after=after), User.of)

    @classmethod
    def of(cls, organization: models.Organization) -> Organization:
        return cls(
            id=strawberry.ID(str(organization.id)),
            name=organization.name,
            slug=organization.slug,
            settings=JSON(organization.settings),
            compute_quota_seconds=organization.compute_quota_seconds,
            compute_used_seconds=organization.compute_used_seconds,
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    name: str
    role: Role
    active: bool
    last_login_at: datetime | None
    created_at: datetime
    organization_id: strawberry.Private[UUID]

    @strawberry.field
    async def organization(self, info: Info) -> Organization:
        return Organization.of(
            await info.context.runtime.sessions.organization(self.organization_id)
        )

    @classmethod
    def of(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            name=user.name,
            role=user.role,
            active=user.active,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            organization_id=user.organization_id,
        )


async def user_by_id(info: Info, id: UUID | None) -> User | None:
    """A user of the actor's organization, e.g. a resource's owner; None if gone or unknown."""
    if id is None:
        return None
    user = await info.context.loaders.user.load(id)
    return None if user is None else User.of(user)


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The public part: keys look like dsx_<prefix>_…")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: models.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type(description="The secret is shown this once; only its hash is stored.")
class NewApiKey:
    api_key: ApiKey
    secret: str


@strawberry.type
class AuthPayload:
    token: str = strawberry.field(description="Send as Authorization: Bearer <token>.")
    expires_at: datetime
    user: User

    @classmethod
    def of(cls, signed_in: SignedIn) -> AuthPayload:
        return cls(
            token=signed_in.token, expires_at=signed_in.expires_at, user=User.of(signed_in.user)
        )

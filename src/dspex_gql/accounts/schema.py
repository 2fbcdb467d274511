from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts import models
from dspex_gql.accounts.models import Role
from dspex_gql.accounts.service import NewUser, OrganizationChanges, SignedIn, UserChanges
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.filters import (
    BooleanFilter,
    DateTimeFilter,
    EnumFilter,
    Order,
    StringFilter,
    as_utc,
    filter_field,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.root_fields import list_field

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


@strawberry.input(name="RoleFilter")
class RoleFilter(EnumFilter[Role]):
    pass


@strawberry.input
class UserFilter:
    and_: list[UserFilter] | None = filter_field("and")
    or_: list[UserFilter] | None = filter_field("or")
    not_: UserFilter | None = filter_field("not")
    email: StringFilter | None = filter_field()
    name: StringFilter | None = filter_field()
    role: RoleFilter | None = filter_field()
    active: BooleanFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()


@strawberry.enum
class UserOrderField(enum.Enum):
    EMAIL = "EMAIL"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input(name="UserOrder")
class UserOrder(Order[UserOrderField]):
    pass


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    role: Role = Role.USER
    password: str | None = strawberry.field(
        default=None, description="Optional: a user without one signs in with API keys only."
    )

    def to_new(self) -> NewUser:
        return NewUser(email=self.email, name=self.name, role=self.role, password=self.password)


@strawberry.input(description="Users change their own name and email; admins anyone's, and roles.")
class UpdateUserInput:
    email: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    role: Role | None = strawberry.UNSET

    def to_changes(self) -> UserChanges:
        return UserChanges(**provided(self))


@strawberry.input
class SignUpInput:
    organization_name: str
    name: str
    email: str
    password: str


@strawberry.input
class UpdateOrganizationInput:
    name: str | None = strawberry.UNSET
    settings: JSON | None = strawberry.UNSET

    def to_changes(self) -> OrganizationChanges:
        return OrganizationChanges(**provided(self))


SignInResult = Annotated[AuthPayload | ValidationError, strawberry.union("SignInResult")]
SignUpResult = Annotated[
    AuthPayload | ValidationError | ConflictError | ForbiddenError, strawberry.union("SignUpResult")
]
CreateUserResult = Annotated[
    User | ValidationError | ConflictError | ForbiddenError, strawberry.union("CreateUserResult")
]
UpdateUserResult = Annotated[
    User | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateUserResult"),
]
DeactivateUserResult = Annotated[
    User | NotFoundError | ConflictError | ForbiddenError, strawberry.union("DeactivateUserResult")
]
ChangePasswordResult = Annotated[
    AuthPayload | ValidationError, strawberry.union("ChangePasswordResult")
]
CreateApiKeyResult = Annotated[
    NewApiKey | ValidationError | ForbiddenError, strawberry.union("CreateApiKeyResult")
]
RevokeApiKeyResult = Annotated[
    ApiKey | NotFoundError | ConflictError | ForbiddenError, strawberry.union("RevokeApiKeyResult")
]
UpdateOrganizationResult = Annotated[
    Organization | ValidationError | ForbiddenError, strawberry.union("UpdateOrganizationResult")
]


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User:
        return User.of(await info.context.services.accounts.me())

    @strawberry.field(description="The signed-in user's organization.")
    async def organization(self, info: Info) -> Organization:
        return Organization.of(await info.context.services.accounts.organization())

    users = list_field(
        User,
        UserFilter,
        UserOrder,
        lambda services: services.accounts,
        description="Admins only.",
        authorize=lambda services: services.accounts.ensure_admin("list users"),
    )

    @strawberry.field(description="The signed-in user's API keys, revoked ones included.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(key) for key in await info.context.services.accounts.api_keys()]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="One error for any wrong email, password or inactive account.")
    async def sign_in(self, info: Info, email: str, password: str) -> SignInResult:
        sessions = info.context.runtime.sessions
        return AuthPayload.of(await sessions.sign_in(email, password, info.context.origin))

    @strawberry.mutation(description="A new organization and its first admin (if enabled).")
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpResult:
        sessions = info.context.runtime.sessions
        signed_in = await sessions.sign_up(
            input.organization_name, input.name, input.email, input.password, info.context.origin
        )
        return AuthPayload.of(signed_in)

    @strawberry.mutation(description="Admins only.")
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserResult:
        return User.of(await info.context.services.accounts.create_user(input.to_new()))

    @strawberry.mutation
    async def update_user(
        self, info: Info, id: strawberry.ID, input: UpdateUserInput
    ) -> UpdateUserResult:
        service = info.context.services.accounts
        return User.of(await service.update_user(to_uuid(id, "User"), input.to_changes()))

    @strawberry.mutation(description="Admins only; the user's keys and tokens stop at once.")
    async def deactivate_user(self, info: Info, id: strawberry.ID) -> DeactivateUserResult:
        return User.of(await info.context.services.accounts.deactivate_user(to_uuid(id, "User")))

    @strawberry.mutation(description="Earlier tokens stop working; a fresh one is returned.")
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> ChangePasswordResult:
        service = info.context.services.accounts
        return AuthPayload.of(await service.change_password(current_password, new_password))

    @strawberry.mutation
    async def create_api_key(
        self, info: Info, name: str, expires_at: datetime | None = None
    ) -> CreateApiKeyResult:
        expires = None if expires_at is None else as_utc(expires_at)
        key, secret = await info.context.services.accounts.create_api_key(name, expires)
        return NewApiKey(api_key=ApiKey.of(key), secret=secret)

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyResult:
        return ApiKey.of(await info.context.services.accounts.revoke_api_key(to_uuid(id, "ApiKey")))

    @strawberry.mutation(description="Admins only.")
    async def update_organization(
        self, info: Info, input: UpdateOrganizationInput
    ) -> UpdateOrganizationResult:
        service = info.context.services.accounts
        return Organization.of(await service.update_organization(input.to_changes()))

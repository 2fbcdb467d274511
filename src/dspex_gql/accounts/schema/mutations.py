from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from dspex_gql.accounts.schema.inputs import (
    CreateUserInput,
    SignUpInput,
    UpdateOrganizationInput,
    UpdateUserInput,
)
from dspex_gql.accounts.schema.types import ApiKey, AuthPayload, NewApiKey, Organization, User
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.filters import as_utc
from dspex_gql.graphql.ids import to_uuid

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

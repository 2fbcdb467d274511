"""Accounts over GraphQL: types, inputs, queries, mutations."""

from __future__ import annotations

from dspex_gql.accounts.schema.inputs import (
    CreateUserInput,
    RoleFilter,
    SignUpInput,
    UpdateOrganizationInput,
    UpdateUserInput,
    UserFilter,
    UserOrder,
    UserOrderField,
)
from dspex_gql.accounts.schema.mutations import (
    AccountMutation,
    ChangePasswordResult,
    CreateApiKeyResult,
    CreateUserResult,
    DeactivateUserResult,
    RevokeApiKeyResult,
    SignInResult,
    SignUpResult,
    UpdateOrganizationResult,
    UpdateUserResult,
)
from dspex_gql.accounts.schema.queries import AccountQuery
from dspex_gql.accounts.schema.types import (
    ApiKey,
    AuthPayload,
    NewApiKey,
    Organization,
    User,
    user_by_id,
)

__all__ = [
    "AccountMutation",
    "AccountQuery",
    "ApiKey",
    "AuthPayload",
    "ChangePasswordResult",
    "CreateApiKeyResult",
    "CreateUserInput",
    "CreateUserResult",
    "DeactivateUserResult",
    "NewApiKey",
    "Organization",
    "RevokeApiKeyResult",
    "RoleFilter",
    "SignInResult",
    "SignUpInput",
    "SignUpResult",
    "UpdateOrganizationInput",
    "UpdateOrganizationResult",
    "UpdateUserInput",
    "UpdateUserResult",
    "User",
    "UserFilter",
    "UserOrder",
    "UserOrderField",
    "user_by_id",
]

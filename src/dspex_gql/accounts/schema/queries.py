from __future__ import annotations

import strawberry

from dspex_gql.accounts.schema.inputs import UserFilter, UserOrder
from dspex_gql.accounts.schema.types import ApiKey, Organization, User
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.root_fields import list_field


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

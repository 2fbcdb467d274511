from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from dspex_gql.accounts.service import NewUser, OrganizationChanges, UserChanges
from dspex_gql.graphql.filters import (
    BooleanFilter,
    DateTimeFilter,
    EnumFilter,
    Order,
    StringFilter,
    filter_field,
)
from dspex_gql.graphql.inputs import provided
from dspex_gql.identity import Role


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

from __future__ import annotations

from datetime import datetime

import strawberry

from dspex_gql.accounts import models
from dspex_gql.accounts.models import Role

strawberry.enum(Role)


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    name: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            name=user.name,
            role=user.role,
            created_at=user.created_at,
        )

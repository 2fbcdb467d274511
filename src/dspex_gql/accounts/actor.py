from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from dspex_gql.accounts.models import Role


@dataclass(frozen=True)
class Actor:
    """Who a request runs as; every service method acts for one actor in one organization."""

    user_id: UUID
    organization_id: UUID
    role: Role

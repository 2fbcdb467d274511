"""The organization's compute quota, checked before any new run starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, select

from dspex_gql.accounts.models import Organization
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.errors import QuotaExceeded

QUOTA_COLUMNS = (Organization.compute_quota_seconds, Organization.compute_used_seconds)
_QUOTA_OF = select(*QUOTA_COLUMNS).where(Organization.id == bindparam("organization_id"))


@dataclass(frozen=True)
class ComputeQuota:
    limit: float | None
    used: float

    def ensure_left(self) -> None:
        if self.limit is not None and self.used >= self.limit:
            message = (
                f"The organization used its compute quota ({self.used:.1f} of "
                f"{self.limit:.1f} seconds)"
            )
            raise QuotaExceeded(message, limit=self.limit, used=self.used)


def with_quota(query: Select[Any], organization_id: Any) -> Select[Any]:
    """`query` with its organization's quota and use as two more columns (`ComputeQuota`)."""
    joined = Organization.id == organization_id
    return query.add_columns(*QUOTA_COLUMNS).join(Organization, joined)


async def ensure_compute_left(tx: UnitOfWork, organization_id: UUID) -> None:
    found = await tx.session.execute(_QUOTA_OF, {"organization_id": organization_id})
    limit, used = found.one()
    ComputeQuota(limit, used).ensure_left()

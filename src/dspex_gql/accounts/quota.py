"""The organization's compute quota, checked before any new run starts."""

from __future__ import annotations

from uuid import UUID

from dspex_gql.accounts.repository import OrganizationRepository
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.errors import QuotaExceeded


async def ensure_compute_left(tx: UnitOfWork, organization_id: UUID) -> None:
    organization = await OrganizationRepository(tx.session).get(organization_id)
    assert organization is not None, "an actor's organization exists"
    quota, used = organization.compute_quota_seconds, organization.compute_used_seconds
    if quota is not None and used >= quota:
        message = f"The organization used its compute quota ({used:.1f} of {quota:.1f} seconds)"
        raise QuotaExceeded(message, limit=quota, used=used)

"""Who a request runs as. Below the database and every resource: repositories and policies are
bound to an actor without importing a resource."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    ADMIN = "ADMIN"
    USER = "USER"
    VIEWER = "VIEWER"


@dataclass(frozen=True)
class Origin:
    """Where a request came from; recorded in the audit log."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ip_address: str | None = None
    user_agent: str | None = None


class CredentialKind(StrEnum):
    API_KEY = "api_key"
    TOKEN = "token"
    ANONYMOUS = "anonymous"
    """Only with DSPEX_AUTH_DEV_ANONYMOUS_ADMIN, on loopback."""


@dataclass(frozen=True)
class Credential:
    kind: CredentialKind
    key_id: UUID | None = None
    token_version: int | None = None
    expires_at: datetime | None = None
    """When it stops working by itself (a key's is also read again from the store)."""


@dataclass(frozen=True)
class Actor:
    """Who a request runs as; every service method acts for one actor in one organization."""

    user_id: UUID
    organization_id: UUID
    role: Role
    credential: Credential = Credential(CredentialKind.ANONYMOUS)
    origin: Origin = field(default_factory=Origin)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def with_role(self, role: Role) -> Actor:
        return replace(self, role=role)

"""Append an audit row in the caller's transaction: it commits with the change or not at all.

audit.record(tx, actor, "program.archive", "Program", program.id, {"status": ["READY", "ARCHIVED"]})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python

from dspex_gql.accounts.actor import Actor
from dspex_gql.audit.models import AuditLog
from dspex_gql.db.uow import UnitOfWork

SECRET_KEY = re.compile(r"secret|password|passwd|token|api[_-]?key|authorization|credential", re.I)
REDACTED = "[redacted]"


def record(
    tx: UnitOfWork,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: UUID | str | None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    tx.session.add(
        AuditLog(
            organization_id=actor.organization_id,
            actor_id=actor.user_id,
            action=action,
            resource_type=resource_type,
            resource_id=None if resource_id is None else str(resource_id),
            changes=redacted(to_jsonable_python(dict(changes or {}))),
            meta={"credential": actor.credential.kind.value},
            request_id=actor.origin.request_id,
            ip_address=actor.origin.ip_address,
            user_agent=(actor.origin.user_agent or "")[:500] or None,
        )
    )


def redacted(value: Any) -> Any:
    """The value with anything under a secret-looking key replaced: `{"api_key": "[redacted]"}`."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEY.search(k) else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value

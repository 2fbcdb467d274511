"""Append an audit row in the caller's transaction: it commits with the change or not at all
(written just before the commit, in one statement with the transaction's other audit rows).

audit.record(tx, actor, "program.archive", "Program", program.id, {"status": ["READY", "ARCHIVED"]})
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python
from sqlalchemy import Table

from dspex_gql.audit.models import AuditLog
from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.identity import Actor
from dspex_gql.ids import new_id

SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "pwd", "token", "credential", "credentials", "authorization"}
)
SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key")})
REDACTED = "[redacted]"
AUDIT_LOGS: Table = AuditLog.__table__  # type: ignore[assignment]
WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def record(
    tx: UnitOfWork,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: UUID | str | None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    tx.insert_at_commit(
        AUDIT_LOGS,
        {
            "id": new_id(),
            "organization_id": actor.organization_id,
            "actor_id": actor.user_id,
            "action": action,
            "resource_type": resource_type,
            "resource_id": None if resource_id is None else str(resource_id),
            "changes": redacted(to_jsonable_python(_api_names(changes or {}))),
            "metadata": {"credential": actor.credential.kind.value},
            "request_id": actor.origin.request_id,
            "ip_address": actor.origin.ip_address,
            "user_agent": (actor.origin.user_agent or "")[:500] or None,
            "created_at": utcnow(),
        },
    )


def redacted(value: Any) -> Any:
    """The value with anything under a secret-looking key replaced: `{"api_key": "[redacted]"}`,
    while `{"max_tokens": 256}` stays, and so does a null, which hides nothing: `{"apiKey": null}`
    says a key was removed."""
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret(k) and v is not None else redacted(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def is_secret(key: str) -> bool:
    words = [w.lower() for w in WORD.findall(key)]
    pairs = set(itertools.pairwise(words))
    return bool(SECRET_WORDS.intersection(words) or SECRET_PAIRS & pairs)


def _api_names(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Field names as the API spells them: `signature_id` → `signatureId`."""
    return {api_name(name): value for name, value in changes.items()}


def api_name(name: str) -> str:
    """`signature_id` → `signatureId`."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)

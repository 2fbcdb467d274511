"""Opaque keyset cursors: which list, in which order, and the row's sort values and id.

A cursor is base64 of JSON, so a client can decode and alter it; every value is checked against
its column before it reaches SQL, and a cursor is only accepted by the list and order it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import InstrumentedAttribute

from dspex_gql.errors import ValidationFailed

Column = InstrumentedAttribute[Any]


def nullable(column: Column) -> bool:
    return bool(getattr(column.expression, "nullable", True))


@dataclass(frozen=True)
class CursorFormat:
    list_name: str
    order: tuple[str, ...]
    """e.g. `("name:asc",)`; the id, in the last key's direction, always follows."""
    columns: tuple[Column, ...]
    """One per sort key, then the id."""

    def encode(self, values: Sequence[Any]) -> str:
        payload = {"l": self.list_name, "o": list(self.order), "v": [_encode(v) for v in values]}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        payload = _payload(cursor)
        if payload.get("l") != self.list_name or payload.get("o") != list(self.order):
            raise _invalid("This cursor belongs to another list or another orderBy")
        values = payload.get("v")
        if not isinstance(values, list) or len(values) != len(self.columns):
            raise _invalid("Invalid cursor")
        decoded = [_decode(value) for value in values]
        if not all(_fits(v, column) for v, column in zip(decoded, self.columns, strict=True)):
            raise _invalid("Invalid cursor")
        return decoded


def _payload(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise _invalid("Invalid cursor") from None
    if not isinstance(payload, dict):
        raise _invalid("Invalid cursor")
    return payload


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def _decode(value: Any) -> Any:
    try:
        if isinstance(value, dict) and set(value) == {"t"}:
            return datetime.fromisoformat(value["t"])
        if isinstance(value, dict) and set(value) == {"u"}:
            return UUID(value["u"])
    except (TypeError, ValueError):
        raise _invalid("Invalid cursor") from None
    return value


def _fits(value: Any, column: Column) -> bool:
    if value is None:
        return nullable(column)
    expected = column.type.python_type
    if expected is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if expected in (int, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, expected)


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.single("after", message, "invalid_cursor")

"""Lists: transport-free filter expressions compiled to SQL, and keyset pagination.

A repository declares which fields can be filtered and sorted
(`Listing({"name": Program.name, "created_at": Program.created_at}, id=Program.id)`);
the GraphQL layer turns `filter:` / `orderBy:` inputs into `Condition`, `And`, `Or`, `Not` and
`SortKey` values; `Listing.page()` returns one page of rows with opaque keyset cursors.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dspex_gql.db.sql import JSONArrayContains
from dspex_gql.errors import ValidationFailed

T = TypeVar("T")
Column = InstrumentedAttribute[Any]


@dataclass(frozen=True)
class Condition:
    """`Condition("name", "starts_with", "qa")`: op is one of `OPERATORS`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    parts: tuple[FilterExpr, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[FilterExpr, ...]


@dataclass(frozen=True)
class Not:
    part: FilterExpr


FilterExpr = Condition | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    filter: FilterExpr | None = None
    order: tuple[SortKey, ...] = ()
    first: int = 50
    after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    def map(self, convert: Callable[[T], Any]) -> Page[Any]:
        return Page(
            [convert(item) for item in self.items],
            self.cursors,
            self.has_next_page,
            self.has_previous_page,
        )


def mentions(expr: FilterExpr | None, field_name: str) -> bool:
    """Whether a filter says anything about `field_name`, at any depth."""
    match expr:
        case Condition(field=name):
            return name == field_name
        case And(parts) | Or(parts):
            return any(mentions(part, field_name) for part in parts)
        case Not(part):
            return mentions(part, field_name)
    return False


def _in(column: Column, values: Sequence[Any]) -> ColumnElement[bool]:
    return column.in_(list(values))


OPERATORS: dict[str, Callable[[Column, Any], ColumnElement[bool]]] = {
    "eq": lambda c, v: c.is_(None) if v is None else c == v,
    "neq": lambda c, v: c.is_not(None) if v is None else c.is_distinct_from(v),
    "in_": _in,
    "nin": lambda c, v: or_(not_(_in(c, v)), c.is_(None)),
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "contains": lambda c, v: c.icontains(v, autoescape=True),
    "starts_with": lambda c, v: c.istartswith(v, autoescape=True),
    "is_null": lambda c, v: c.is_(None) if v else c.is_not(None),
    "has": lambda c, v: JSONArrayContains(c, v),
    "has_all": lambda c, v: and_(true(), *(JSONArrayContains(c, item) for item in v)),
    "has_any": lambda c, v: or_(false(), *(JSONArrayContains(c, item) for item in v)),
}


@dataclass(frozen=True)
class Listing:
    fields: Mapping[str, Column]
    id: Column
    default_order: tuple[SortKey, ...] = (SortKey("created_at", descending=True),)

    def where(self, expr: FilterExpr) -> ColumnElement[bool]:
        match expr:
            case Condition(name, op, value):
                return OPERATORS[op](self.fields[name], value)
            case And(parts):
                return and_(true(), *(self.where(part) for part in parts))
            case Or(parts):
                return or_(false(), *(self.where(part) for part in parts))
            case Not(part):
                return not_(self.where(part))
        raise TypeError(f"not a filter expression: {expr!r}")

    async def page(
        self, session: AsyncSession, query: Select[Any], request: PageRequest
    ) -> Page[Any]:
        if request.filter is not None:
            query = query.where(self.where(request.filter))
        order = request.order or self.default_order
        if request.after is not None:
            query = query.where(self._after(order, decode_cursor(request.after, order)))
        rows = list(
            (await session.scalars(self._ordered(query, order).limit(request.first + 1))).all()
        )
        items = rows[: request.first]
        cursors = [encode_cursor(order, self._key_of(row, order)) for row in items]
        return Page(items, cursors, len(rows) > request.first, request.after is not None)

    async def count(
        self, session: AsyncSession, query: Select[Any], filter: FilterExpr | None
    ) -> int:
        if filter is not None:
            query = query.where(self.where(filter))
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        return int((await session.execute(counted)).scalar_one())

    def _ordered(self, query: Select[Any], order: Sequence[SortKey]) -> Select[Any]:
        clauses = [self._direction(key.field, key.descending) for key in order]
        last_descending = order[-1].descending if order else False
        return query.order_by(*clauses, self.id.desc() if last_descending else self.id.asc())

    def _direction(self, name: str, descending: bool) -> ColumnElement[Any]:
        column = self.fields[name]
        clause = column.desc() if descending else column.asc()
        return clause.nulls_last() if _nullable(column) else clause

    def _key_of(self, row: Any, order: Sequence[SortKey]) -> list[Any]:
        return [getattr(row, self.fields[key.field].key) for key in order] + [row.id]

    def _after(self, order: Sequence[SortKey], values: list[Any]) -> ColumnElement[bool]:
        """Rows strictly after the cursor in `ORDER BY k1, ..., kn, id` with NULLS LAST."""
        last_id = values[-1]
        tail: ColumnElement[bool] = self.id < last_id if order[-1].descending else self.id > last_id
        for key, value in reversed(list(zip(order, values, strict=False))):
            column = self.fields[key.field]
            if value is None:
                tail = and_(column.is_(None), tail)
                continue
            beyond = column < value if key.descending else column > value
            alternatives = [beyond, and_(column == value, tail)]
            if _nullable(column):
                alternatives.insert(1, column.is_(None))
            tail = or_(*alternatives)
        return tail


def _nullable(column: Column) -> bool:
    return bool(getattr(column.expression, "nullable", True))


def _signature(order: Sequence[SortKey]) -> list[str]:
    return [f"{key.field}:{'desc' if key.descending else 'asc'}" for key in order]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "u" in value:
        return UUID(value["u"])
    return value


def encode_cursor(order: Sequence[SortKey], values: Sequence[Any]) -> str:
    payload = {"o": _signature(order), "v": [_encode_value(value) for value in values]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: Sequence[SortKey]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        values = [_decode_value(value) for value in payload["v"]]
        signature = payload["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValidationFailed.single("after", "Invalid cursor", "invalid_cursor") from error
    if signature != _signature(order) or len(values) != len(order) + 1:
        raise ValidationFailed.single(
            "after", "This cursor belongs to a different orderBy", "invalid_cursor"
        )
    return values

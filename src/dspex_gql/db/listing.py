"""Lists: transport-free filter expressions compiled to SQL, and keyset pagination.

A repository declares which fields can be filtered and sorted
(`Listing({"name": Program.name, "created_at": Program.created_at}, id=Program.id)`);
the GraphQL layer turns `filter:` / `orderBy:` inputs into `Condition`, `And`, `Or`, `Not` and
`SortKey` values; `Listing.page()` returns one page of rows with keyset cursors (`cursors.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.cursors import Column, CursorFormat, nullable
from dspex_gql.db.sql import JSONArrayContains, entity_rows, only_columns

T = TypeVar("T")


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
    columns: tuple[str, ...] | None = None
    """The attributes to read, as rows (`only_columns`); None reads whole entities."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor_at: Callable[[int], str]
    """The cursor of `items[i]`, encoded only when asked for."""
    has_next_page: bool
    has_previous_page: bool


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
        cursors = self._cursor_format(order)
        if request.after is not None:
            query = query.where(self._after(order, cursors.decode(request.after)))
        query = self._ordered(query, order).limit(request.first + 1)
        if request.columns is None:
            rows: list[Any] = list((await session.scalars(query)).all())
        else:
            keys = {*request.columns, "id", *(self.fields[key.field].key for key in order)}
            rows = entity_rows(await session.execute(only_columns(query, keys)))
        items = rows[: request.first]

        def cursor_at(index: int) -> str:
            return cursors.encode(self._key_of(items[index], order))

        return Page(items, cursor_at, len(rows) > request.first, request.after is not None)

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
        return clause.nulls_last() if nullable(column) else clause

    def _cursor_format(self, order: Sequence[SortKey]) -> CursorFormat:
        return CursorFormat(
            list_name=self.id.class_.__tablename__,
            order=tuple(f"{key.field}:{'desc' if key.descending else 'asc'}" for key in order),
            columns=(*(self.fields[key.field] for key in order), self.id),
        )

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
            if nullable(column):
                alternatives.insert(1, column.is_(None))
            tail = or_(*alternatives)
        return tail

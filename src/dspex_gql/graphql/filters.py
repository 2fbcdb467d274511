"""Filter and order inputs, and their translation into `dspex_gql.db.listing` expressions.

    programs(filter: {or: [{name: {startsWith: "qa"}}, {tags: {contains: "nlp"}}],
                      status: {in: [READY, DRAFT]}},
             orderBy: [{field: NAME, direction: DESC}])

Each operator input field's Python name is the listing operator (`in_`, `starts_with`, ...);
each field of a resource filter is the listing field it filters.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.utils.str_converters import to_camel_case

from dspex_gql.db.listing import And, Condition, FilterExpr, Not, Or, SortKey
from dspex_gql.errors import ValidationFailed

E = TypeVar("E")

LOGICAL = {"and_", "or_", "not_"}


@strawberry.enum
class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


class Operators:
    """Base of operator inputs: every set operator becomes one `Condition` on `field`."""

    def conditions(self, field: str) -> list[Condition]:
        label = to_camel_case(field)
        return [
            Condition(field, f.name, self.convert(value, label))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if (value := getattr(self, f.name)) is not strawberry.UNSET and value is not None
        ]

    def convert(self, value: Any, field: str) -> Any:
        return value


def filter_field(name: str | None = None) -> Any:
    return strawberry.field(name=name, default=strawberry.UNSET)


@strawberry.input(description="String operators; contains and startsWith ignore case.")
class StringFilter(Operators):
    eq: str | None = filter_field()
    neq: str | None = filter_field()
    in_: list[str] | None = filter_field("in")
    nin: list[str] | None = filter_field()
    contains: str | None = filter_field()
    starts_with: str | None = filter_field()
    is_null: bool | None = filter_field()


@strawberry.input
class IDFilter(Operators):
    eq: strawberry.ID | None = filter_field()
    neq: strawberry.ID | None = filter_field()
    in_: list[strawberry.ID] | None = filter_field("in")
    nin: list[strawberry.ID] | None = filter_field()
    is_null: bool | None = filter_field()

    def convert(self, value: Any, field: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, list):
            return [parse_id(item, f"filter.{field}") for item in value]
        return parse_id(value, f"filter.{field}")


@strawberry.input
class IntFilter(Operators):
    eq: int | None = filter_field()
    neq: int | None = filter_field()
    in_: list[int] | None = filter_field("in")
    nin: list[int] | None = filter_field()
    lt: int | None = filter_field()
    lte: int | None = filter_field()
    gt: int | None = filter_field()
    gte: int | None = filter_field()
    is_null: bool | None = filter_field()


@strawberry.input
class FloatFilter(Operators):
    eq: float | None = filter_field()
    neq: float | None = filter_field()
    lt: float | None = filter_field()
    lte: float | None = filter_field()
    gt: float | None = filter_field()
    gte: float | None = filter_field()
    is_null: bool | None = filter_field()


@strawberry.input(description="Date-time operators; a value without a time zone is read as UTC.")
class DateTimeFilter(Operators):
    eq: datetime | None = filter_field()
    neq: datetime | None = filter_field()
    lt: datetime | None = filter_field()
    lte: datetime | None = filter_field()
    gt: datetime | None = filter_field()
    gte: datetime | None = filter_field()
    is_null: bool | None = filter_field()

    def convert(self, value: Any, field: str) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value


@strawberry.input
class BooleanFilter(Operators):
    eq: bool | None = filter_field()


@strawberry.input(description="Operators on a list of tags.")
class TagFilter(Operators):
    has: str | None = filter_field("contains")
    has_all: list[str] | None = filter_field("containsAll")
    has_any: list[str] | None = filter_field("containsAny")


@strawberry.input
class EnumFilter(Operators, Generic[E]):
    eq: E | None = filter_field()
    neq: E | None = filter_field()
    in_: list[E] | None = filter_field("in")
    nin: list[E] | None = filter_field()


@strawberry.input
class Order(Generic[E]):
    field: E
    direction: SortDirection = SortDirection.ASC


def as_utc(value: datetime) -> datetime:
    """A client's date-time without a zone is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_id(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.single(field, f"{value!r} is not a valid ID", "invalid_id") from None


def to_filter_expr(value: Any) -> FilterExpr | None:
    if value is None or value is strawberry.UNSET:
        return None
    parts: list[FilterExpr] = []
    for f in dataclasses.fields(value):
        given = getattr(value, f.name)
        if given is strawberry.UNSET or given is None:
            continue
        if f.name in LOGICAL:
            parts.extend(_logical(f.name, given))
        else:
            parts.extend(given.conditions(f.name))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _logical(name: str, given: Any) -> list[FilterExpr]:
    if name == "not_":
        inner = to_filter_expr(given)
        return [] if inner is None else [Not(inner)]
    members = tuple(expr for item in given if (expr := to_filter_expr(item)) is not None)
    return [And(members) if name == "and_" else Or(members)]


def to_sort_keys(order_by: list[Any] | None) -> tuple[SortKey, ...]:
    keys = tuple(
        SortKey(item.field.value.lower(), item.direction == SortDirection.DESC)
        for item in order_by or ()
    )
    if len({key.field for key in keys}) != len(keys):
        raise ValidationFailed.single(
            "orderBy", "Each field may appear once in orderBy", "duplicate"
        )
    return keys

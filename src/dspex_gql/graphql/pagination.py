"""Relay connections: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`.

`Connection[Program]` is named `ProgramConnection` in the schema, `Edge[Program]` `ProgramEdge`.
`totalCount` runs its COUNT query only when a client asks for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import strawberry

from dspex_gql.db.listing import And, FilterExpr, Page, PageRequest
from dspex_gql.errors import ValidationFailed
from dspex_gql.graphql.filters import to_filter_expr, to_sort_keys

N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    nodes: list[N]
    page_info: PageInfo
    cursor_at: strawberry.Private[Callable[[int], str]]
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def edges(self) -> list[Edge[N]]:
        return [Edge(cursor=self.cursor_at(i), node=node) for i, node in enumerate(self.nodes)]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, page: Page[Any], convert: Callable[[Any], N], count: Callable[[], Awaitable[int]]
    ) -> Connection[N]:
        last = len(page.items) - 1
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursor_at(0) if page.items else None,
            end_cursor=page.cursor_at(last) if page.items else None,
        )
        nodes = [convert(item) for item in page.items]
        return cls(nodes=nodes, page_info=info, cursor_at=page.cursor_at, count=count)


class Pages(Protocol):
    """A service that lists: `page` for rows, `count` for `totalCount`."""

    async def page(self, request: PageRequest) -> Page[Any]: ...

    async def count(self, filter: FilterExpr | None) -> int: ...


async def connection(
    pages: Pages, request: PageRequest, convert: Callable[[Any], N]
) -> Connection[N]:
    page = await pages.page(request)
    return Connection.of(page, convert, lambda: pages.count(request.filter))


def check_first(first: int, max_page_size: int) -> int:
    if not 0 <= first <= max_page_size:
        raise ValidationFailed.single(
            "first", f"first must be between 0 and {max_page_size}", "out_of_range"
        )
    return first


def list_request(
    info: Any,
    filter: Any = None,
    order_by: list[Any] | None = None,
    first: int = 50,
    after: str | None = None,
    *,
    within: FilterExpr | None = None,
) -> PageRequest:
    """A page request from list arguments; `within` narrows it, e.g. to one program's rows."""
    expr = to_filter_expr(filter)
    if within is not None:
        expr = within if expr is None else And((within, expr))
    return PageRequest(
        filter=expr,
        order=to_sort_keys(order_by),
        first=check_first(first, info.context.settings.graphql.max_page_size),
        after=after,
    )

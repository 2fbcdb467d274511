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
    edges: list[Edge[N]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, page: Page[Any], convert: Callable[[Any], N], count: Callable[[], Awaitable[int]]
    ) -> Connection[N]:
        edges = [
            Edge(cursor=cursor, node=convert(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)
        ]
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )
        return cls(edges=edges, page_info=info, count=count)


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

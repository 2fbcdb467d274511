"""The root fields every resource repeats, written once: one by id and a list.

    @strawberry.type
    class ProgramQuery:
        program = field_by_id(Program, lambda services: services.programs)
        programs = list_field(Program, ProgramFilter, ProgramOrder, lambda s: s.programs)

give `program(id: ID!): Program` (null when it does not exist or the actor may not read it) and
`programs(filter: ProgramFilter = null, orderBy: [ProgramOrder!] = null, first: Int! = 50,
after: String = null): ProgramConnection!`. A node type has `of(row)`: `Program.of(program)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from functools import partial
from typing import Any, Protocol
from uuid import UUID

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.ids import or_none, to_uuid
from dspex_gql.graphql.pagination import Connection, Pages, connection, list_request
from dspex_gql.graphql.selections import ColumnsOf, connection_columns, selected_columns
from dspex_gql.runtime import Services


class Readable(Protocol):
    async def get(self, id: UUID) -> Any: ...

    async def row(self, id: UUID, columns: Collection[str]) -> Any: ...


def field_by_id(
    node: type[Any],
    service: Callable[[Services], Readable],
    *,
    description: str | None = None,
    columns_of: ColumnsOf | None = None,
) -> Any:
    """With `columns_of` (what each field of `node` is made from) only the columns of the
    fields selected are read."""

    async def resolve(info: Info, id: strawberry.ID) -> Any:
        readable = service(info.context.services)
        read: Callable[[UUID], Awaitable[Any]] = readable.get
        if columns_of is not None:
            read = partial(readable.row, columns=selected_columns(info, columns_of))
        found = await or_none(lambda: read(to_uuid(id, node.__name__)))
        return None if found is None else node.of(found)

    _annotate(resolve, {"return": node | None})
    return strawberry.field(resolver=resolve, description=description)


def list_field(
    node: type[Any],
    filter_type: type[Any],
    order_type: type[Any],
    pages: Callable[[Services], Pages],
    *,
    description: str | None = None,
    authorize: Callable[[Services], Awaitable[None]] | None = None,
    columns_of: ColumnsOf | None = None,
) -> Any:
    """`authorize` runs first and raises when the actor may not list at all. With `columns_of`
    (what each field of `node` is made from) only the columns of the fields selected are read."""

    async def resolve(
        info: Info,
        filter: Any = None,
        order_by: Any = None,
        first: int = 50,
        after: str | None = None,
    ) -> Any:
        services = info.context.services
        if authorize is not None:
            await authorize(services)
        request = list_request(info, filter, order_by, first, after)
        if columns_of is not None:
            request = replace(request, columns=connection_columns(info, columns_of))
        return await connection(pages(services), request, node.of)

    types = {"filter": filter_type | None, "order_by": _generic(list, order_type) | None}
    _annotate(resolve, {**types, "return": _generic(Connection, node)})
    return strawberry.field(resolver=resolve, description=description)


def _annotate(resolver: Callable[..., Any], types: dict[str, Any]) -> None:
    """Give the resolver the GraphQL types Strawberry reads from its annotations: types known
    only when the field is made."""
    resolver.__annotations__.update(types)


def _generic(generic: Any, argument: type[Any]) -> Any:
    """`generic[argument]` (`Connection[Program]`) for an argument known only at run time."""
    return generic[argument]

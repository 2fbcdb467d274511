from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from dspex_gql.errors import NotFound

T = TypeVar("T")


def to_uuid(id: str, resource: str) -> UUID:
    """A malformed id names nothing that exists: it is not found, like any unknown id."""
    try:
        return UUID(str(id))
    except ValueError:
        raise NotFound(resource, id) from None


async def or_none(lookup: Callable[[], Awaitable[T]]) -> T | None:
    """`await or_none(lambda: service.get(to_uuid(id, "Program")))`: None when not found."""
    try:
        return await lookup()
    except NotFound:
        return None

"""The database's clock: the one clock every process of a deployment agrees on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.base import UTCDateTime


async def database_now(session: AsyncSession) -> datetime:
    """Now, by the database server (PostgreSQL's transaction time; SQLite's, in milliseconds)."""
    if session.get_bind().dialect.name == "sqlite":
        now = func.strftime("%Y-%m-%d %H:%M:%f", "now")
    else:
        now = func.now()
    value: datetime | None = await session.scalar(select(type_coerce(now, UTCDateTime())))
    assert value is not None
    return value

"""Background work repeated at a fixed period for as long as a block runs.

async with repeating(10.0, lease.renew, "renew this process's lease"):
    ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from dspex_gql.db.errors import database_unavailable

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def repeating(
    period: float, action: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run `action` every `period` seconds; a failure is logged (one line when the database is
    unavailable) and the next period tries again."""
    task = asyncio.create_task(_repeat(period, action, what), name=what)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _repeat(period: float, action: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        await asyncio.sleep(period)  # the period, not a synchronisation
        try:
            await action()
        except Exception as error:
            if database_unavailable(error):
                logger.warning("could not %s: %s", what, error)
            else:
                logger.exception("could not %s", what)

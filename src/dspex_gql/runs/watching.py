"""A run as it changes, for its subscribers: the same for every kind of run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from dspex_gql.runs.events import RunEvent

R = TypeVar("R")
E = TypeVar("E", bound=RunEvent)


async def follow(
    current: R,
    events: AsyncIterator[E],
    advance: Callable[[R, E], Awaitable[R]],
    min_interval: float = 0.0,
) -> AsyncIterator[R]:
    """`current` (the run as stored, read after subscribing to `events`), then the run after each
    later event (`advance` applies one), at most one every `min_interval` seconds — events that
    come meanwhile coalesce — until it has ended."""
    yield current
    if _ended(current):
        return
    sent = time.monotonic()
    async for event in events:
        if event.sequence <= _sequence(current):
            continue
        await asyncio.sleep(max(0.0, sent + min_interval - time.monotonic()))
        current = await advance(current, event)
        yield current
        sent = time.monotonic()
        if _ended(current):
            return


async def until_ended(events: AsyncIterator[Any], seconds: float) -> bool:
    """Wait for an event of a terminal `status` among `events`, at most `seconds`; True when one
    came."""
    try:
        async with asyncio.timeout(seconds):
            async for event in events:
                if event.status.is_terminal:
                    return True
    except TimeoutError:
        pass
    return False


def _ended(run: Any) -> bool:
    return bool(run.status.is_terminal)


def _sequence(run: Any) -> int:
    return int(run.sequence)

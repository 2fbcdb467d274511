"""Pub/sub for tests: a small event type, the backends' urls, and reading events with a bound."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from dspex_gql.pubsub import Event, Hub
from tests.support.external_services import POSTGRES, REDIS, service_url

E = TypeVar("E", bound=Event)


class Progress(Event):
    run: str
    step: int = 0

    @property
    def key(self) -> str:
        return self.run


def backend_url(backend: str) -> str:
    """The broadcaster url of `backend`, or skip when its test server is not configured."""
    if backend == "memory":
        return "memory://"
    variable = {"redis": REDIS, "postgres": POSTGRES}[backend]
    url = service_url(variable, f"{backend} backend")
    return re.sub(r"^postgresql(\+\w+)?://", "postgres://", url)


async def take(events: AsyncIterator[E], count: int, within: float = 5.0) -> list[E]:
    async with asyncio.timeout(within):
        return [await anext(events) for _ in range(count)]


async def read_until(
    events: AsyncIterator[E], last: Callable[[E], bool], within: float = 5.0
) -> list[E]:
    received: list[E] = []
    async with asyncio.timeout(within):
        async for event in events:
            received.append(event)
            if last(event):
                break
    return received


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll `condition` until it holds; for state outside the process, like a broker's."""
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110 (no event to wait for outside the process)
            await asyncio.sleep(0.01)


async def until_ready(hub: Hub, within: float = 5.0) -> None:
    async def answers() -> bool:
        return await hub.ping(0.5)

    await eventually(answers, within)

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Self

from .errors import SubscriberOverflow
from .events import E


@dataclass
class Losses:
    """What the buffers of one hub dropped, for its metrics."""

    coalesced: int = 0
    """Events replaced by a later one of the same key before their subscriber read them."""
    overflowed: int = 0
    """Subscribers ended because they fell too far behind."""


class CoalescingBuffer(Generic[E]):
    """The events one subscriber has not read yet, at most one per key (latest wins).

    With `max_keys=2`, putting a1, b1, a2 leaves [a2, b1]: a2 took a1's place. Putting a third
    key then ends the buffer: the reader gets `SubscriberOverflow` instead of more events.
    """

    def __init__(self, max_keys: int, losses: Losses | None = None) -> None:
        self._max_keys = max_keys
        self._losses = losses or Losses()
        self._pending: OrderedDict[str, E] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: Exception | None = None

    def put(self, event: E) -> None:
        if self._ended:
            return
        if event.key in self._pending:
            self._losses.coalesced += 1
        elif len(self._pending) >= self._max_keys:
            self._losses.overflowed += 1
            self.end(SubscriberOverflow(f"more than {self._max_keys} distinct keys unread"))
            return
        self._pending[event.key] = event
        self._wakeup.set()

    def end(self, error: Exception | None = None) -> None:
        """Stop the reader now: it raises `error`, or simply stops iterating when there is none."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._pending.clear()
        self._wakeup.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        while not self._pending and not self._ended:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._error is not None:
            raise self._error
        if self._ended:
            raise StopAsyncIteration
        return self._pending.popitem(last=False)[1]

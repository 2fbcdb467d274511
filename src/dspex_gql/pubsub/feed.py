import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic

from pydantic import ValidationError

from .buffer import CoalescingBuffer
from .connection import BackendConnection
from .errors import HubUnavailable
from .events import E

logger = logging.getLogger(__name__)


class ChannelFeed(Generic[E]):
    """The one backend subscription this process holds for `channel`, fanned out locally.

    A pump task reads the backend, decodes each message once into `event_type`, and puts the
    event into every local subscriber's buffer. If the pump dies, every subscriber is ended
    with `HubUnavailable` and `on_death` is told.
    """

    def __init__(
        self,
        channel: str,
        event_type: type[E],
        connection: BackendConnection,
        on_death: Callable[["ChannelFeed[Any]"], None],
    ) -> None:
        self.channel = channel
        self.event_type = event_type
        self._buffers: set[CoalescingBuffer[E]] = set()
        self._settled = asyncio.Event()
        self._live = False
        self._stopping = False
        self._pump = asyncio.create_task(self._run(connection, on_death), name=f"pump {channel}")

    @property
    def subscriber_count(self) -> int:
        return len(self._buffers)

    def add(self, buffer: CoalescingBuffer[E]) -> None:
        self._buffers.add(buffer)

    def discard(self, buffer: CoalescingBuffer[E]) -> None:
        self._buffers.discard(buffer)

    async def wait_subscribed(self) -> None:
        await self._settled.wait()
        if not self._live:
            raise HubUnavailable(f"could not subscribe to {self.channel!r}")

    def stop(self, failure: str | None = None) -> None:
        """End the subscribers (with `HubUnavailable(failure)` if given) and unsubscribe."""
        self._stopping = True
        self._end_subscribers(failure)
        self._pump.cancel()

    async def stopped(self, grace: float) -> None:
        await asyncio.wait({self._pump}, timeout=grace)

    async def _run(
        self, connection: BackendConnection, on_death: Callable[["ChannelFeed[Any]"], None]
    ) -> None:
        try:
            await self._pump_messages(connection)
        except Exception:
            if self._stopping:
                logger.debug("unsubscribing from %r failed", self.channel, exc_info=True)
                return
            logger.warning("backend subscription to %r failed", self.channel, exc_info=True)
            self._end_subscribers("the backend subscription failed")
            on_death(self)

    async def _pump_messages(self, connection: BackendConnection) -> None:
        async with connection.subscribe(self.channel) as subscriber:
            self._live = not self._stopping
            self._settled.set()
            while True:
                message = await subscriber.get()
                self._fan_out(message.message)

    def _fan_out(self, payload: str) -> None:
        try:
            event = self.event_type.model_validate_json(payload)
        except ValidationError as error:
            logger.warning("skipped a message on %r: %s", self.channel, _summary(error, payload))
            return
        for buffer in self._buffers:
            buffer.put(event)

    def _end_subscribers(self, failure: str | None) -> None:
        self._live = False
        self._settled.set()
        for buffer in self._buffers:
            buffer.end(HubUnavailable(failure) if failure else None)


def _summary(error: ValidationError, payload: str) -> str:
    """For example `not a Progress: {"sequence":1,"name":"x"}`."""
    return f"not a {error.title}: {payload[:200]}"

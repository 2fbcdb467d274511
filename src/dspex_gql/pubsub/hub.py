import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any, Self

from broadcaster import Broadcast

from .buffer import CoalescingBuffer, Losses
from .connection import BackendConnection
from .errors import HubUnavailable, SubscriberOverflow
from .events import E, Event
from .feed import ChannelFeed

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
FIRST_RECONNECT_DELAY = 0.1
MAX_RECONNECT_DELAY = 30.0
OUTBOX_SIZE = 10_000
SEND_BATCH = 500
"""At most this many messages go to the backend at a time."""
DRAIN_SECONDS = 2.0
"""At exit, how long what is still in the outbox may take to go out."""


class Heartbeat(Event):
    nonce: str

    @property
    def key(self) -> str:
        return self.nonce


class Hub:
    """This process's door to the pub/sub backend: typed events in, typed events out.

    Each channel gets one backend subscription however many local subscribers it has; each
    subscriber reads from its own bounded, coalescing buffer. A supervisor sends a heartbeat
    through the backend every `heartbeat_interval` seconds; when one does not come back within
    `heartbeat_timeout`, every subscriber is ended with `HubUnavailable` and the hub reconnects.

    `publish` never waits for the backend: events go out in order from an outbox, so a slow or
    silent backend never holds up the mutation that published them. While the backend is down,
    events are dropped: the database holds the truth, and subscribers ended by the outage read
    it again when they subscribe again.

    On the in-process backend (`memory://`), an event on a channel that no subscriber of this
    process holds reaches no one: it is dropped before it is serialized (a DAG run publishes an
    event for each of its thousands of program calls, most of them watched by no one).

    `broadcast_factory` builds the `Broadcast` for the url; tests pass one with a fake broker.
    """

    def __init__(
        self,
        url: str,
        *,
        buffer_size: int = 256,
        heartbeat_interval: float = 5.0,
        heartbeat_timeout: float | None = None,
        broadcast_factory: Callable[[str], Broadcast] = Broadcast,
    ) -> None:
        self._url = url
        self._buffer_size = buffer_size
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat_timeout = heartbeat_timeout or heartbeat_interval
        self._broadcast_factory = broadcast_factory
        self._in_process = url.startswith("memory://") and broadcast_factory is Broadcast
        """A factory of its own (a test's fake broker) may stand for a networked backend."""
        self._name = f"hub-{uuid.uuid4().hex[:12]}"
        self._connection: BackendConnection | None = None
        self._feeds: dict[str, ChannelFeed[Any]] = {}
        self._check_soon = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(OUTBOX_SIZE)
        self._undelivered = 0
        self.losses = Losses()
        """What subscribers' buffers dropped (coalesced events, overflowed subscribers)."""
        self._dropping = False
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._connection = await self._connect()
        self._tasks = [
            asyncio.create_task(self._supervise(), name=f"{self._name} supervisor"),
            asyncio.create_task(self._send_outbox(), name=f"{self._name} sender"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(DRAIN_SECONDS, self._heartbeat_timeout)):
                await self._outbox.join()  # what was published before the end goes out
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks)
        await self._drop_connection(failure=None)

    async def publish(self, channel: str, event: Event) -> None:
        """Send `event` soon; raises `HubUnavailable` at once if the hub knows it has no
        backend, but never waits for one."""
        await self.publish_on([channel], event)

    async def publish_on(self, channels: Iterable[str], event: Event) -> None:
        """`publish` on each of `channels`, the event serialized once."""
        self._live_connection()
        if self._in_process:
            channels = [channel for channel in channels if channel in self._feeds]
            if not channels:
                return
        payload = event.model_dump_json()
        for channel in channels:
            try:
                self._outbox.put_nowait((channel, payload))
            except asyncio.QueueFull:
                self._lost(f"the outbox is full ({OUTBOX_SIZE} events)")

    @property
    def backlog(self) -> int:
        """Events published and not yet handed to the backend."""
        return self._outbox.qsize()

    @property
    def undelivered(self) -> int:
        """Events dropped because the backend could not take them."""
        return self._undelivered

    async def _send_outbox(self) -> None:
        """Send what is in the outbox, in order, as many messages at a time as are waiting (one
        round trip for a batch on Redis, where each message was one)."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < SEND_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await self._publish_now(batch)
                self._dropping = False
            except HubUnavailable as error:
                for _ in batch:
                    self._lost(str(error))
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _publish_now(self, messages: list[tuple[str, str]]) -> None:
        connection = self._live_connection()
        try:
            async with asyncio.timeout(self._heartbeat_timeout):
                await connection.publish_all(messages)
        except Exception as error:
            self._check_soon.set()
            channels = sorted({channel for channel, _ in messages})
            shown = ", ".join(repr(channel) for channel in channels[:3])
            more = f" and {len(channels) - 3} more" if len(channels) > 3 else ""
            raise HubUnavailable(f"could not publish to {shown}{more}") from error

    def _lost(self, why: str) -> None:
        if not self._dropping:
            logger.warning("pub/sub events are being dropped: %s", why)
            self._dropping = True
        self._undelivered += 1

    @asynccontextmanager
    async def subscribe(self, channel: str, event_type: type[E]) -> AsyncIterator[AsyncIterator[E]]:
        """Events published on `channel` from the moment this returns, until the block exits."""
        feed = self._feed(channel, event_type)
        buffer = CoalescingBuffer[E](self._buffer_size, self.losses)
        feed.add(buffer)
        try:
            await feed.wait_subscribed()
            yield buffer
        finally:
            await self._leave(feed, buffer)

    async def ping(self, timeout: float = 1.0) -> bool:  # noqa: ASYNC109 (the public API)
        """Whether an event published now comes back through the backend within `timeout`."""
        try:
            async with asyncio.timeout(timeout):
                return await self._round_trip()
        except (TimeoutError, HubUnavailable, SubscriberOverflow):
            return False

    def subscriber_counts(self) -> dict[str, int]:
        """Local subscribers per channel, each channel held by one backend subscription.

        For example `{"execution:42": 3}`: three subscribers share one backend subscription.
        """
        return {channel: feed.subscriber_count for channel, feed in self._feeds.items()}

    async def _round_trip(self) -> bool:
        beat = Heartbeat(sequence=0, nonce=uuid.uuid4().hex[:16])
        channel = f"{self._name}.ping.{beat.nonce}"
        async with self.subscribe(channel, Heartbeat) as beats:
            await self._publish_now([(channel, beat.model_dump_json())])
            async for received in beats:
                return received == beat
        return False

    def _feed(self, channel: str, event_type: type[E]) -> ChannelFeed[E]:
        feed: ChannelFeed[E] | None = self._feeds.get(channel)
        if feed is None:
            if event_type.key is Event.key:
                raise TypeError(f"{event_type.__name__} must define the `key` property")
            connection = self._live_connection()
            feed = ChannelFeed(channel, event_type, connection, self._forget_dead_feed)
            self._feeds[channel] = feed
        if feed.event_type is not event_type:
            raise TypeError(f"{channel!r} carries {feed.event_type.__name__}, not {event_type}")
        return feed

    async def _leave(self, feed: ChannelFeed[E], buffer: CoalescingBuffer[E]) -> None:
        feed.discard(buffer)
        if feed.subscriber_count == 0 and self._feeds.get(feed.channel) is feed:
            del self._feeds[feed.channel]
            feed.stop()
            await feed.stopped(self._heartbeat_timeout)

    def _forget_dead_feed(self, feed: ChannelFeed[Any]) -> None:
        if self._feeds.get(feed.channel) is feed:
            del self._feeds[feed.channel]
        self._check_soon.set()

    def _live_connection(self) -> BackendConnection:
        if self._connection is None:
            raise HubUnavailable("the hub is not connected to its pub/sub backend")
        return self._connection

    async def _connect(self) -> BackendConnection:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                broadcast = self._broadcast_factory(self._url)
                return await BackendConnection.open(broadcast, f"{self._name}.anchor")
        except Exception as error:
            raise HubUnavailable("could not connect to the pub/sub backend") from error

    async def _drop_connection(self, failure: str | None) -> None:
        connection, self._connection = self._connection, None
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.stop(failure)
        await asyncio.gather(*(feed.stopped(self._heartbeat_timeout) for feed in feeds))
        if connection is not None:
            await connection.close(self._heartbeat_timeout)

    async def _supervise(self) -> None:
        delays = _backoff()
        while True:
            await self._until_next_check()
            if await self.ping(self._heartbeat_timeout):
                delays = _backoff()
                continue
            logger.warning("pub/sub heartbeat failed: ending subscribers, reconnecting")
            await self._drop_connection(failure="the pub/sub backend stopped answering")
            self._connection = await self._reconnect(delays)
            self._check_soon.set()

    async def _until_next_check(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._heartbeat_interval):
                await self._check_soon.wait()
        self._check_soon.clear()

    async def _reconnect(self, delays: Iterator[float]) -> BackendConnection:
        for delay in delays:
            await asyncio.sleep(delay)
            try:
                return await self._connect()
            except HubUnavailable as error:
                logger.warning("pub/sub reconnect failed: %s", error.__cause__)
        raise AssertionError("backoff delays never run out")


def _backoff() -> Iterator[float]:
    """0.1, 0.2, 0.4, … seconds, capped at MAX_RECONNECT_DELAY."""
    delay = FIRST_RECONNECT_DELAY
    while True:
        yield delay
        delay = min(delay * 2, MAX_RECONNECT_DELAY)

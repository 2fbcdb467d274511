import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend
from redis.asyncio import Redis

if TYPE_CHECKING:
    from broadcaster._base import Subscriber  # the type `Broadcast.subscribe` yields

logger = logging.getLogger(__name__)


class BackendConnection:
    """One connected `Broadcast`, used by one operation at a time.

    broadcaster's postgres backend runs publish, LISTEN and UNLISTEN on a single asyncpg
    connection, which refuses concurrent operations ("another operation is in progress"),
    so every backend operation here takes the same lock.
    """

    def __init__(self, broadcast: Broadcast) -> None:
        self._broadcast = broadcast
        self._lock = asyncio.Lock()
        self._anchor = AsyncExitStack()

    @classmethod
    async def open(cls, broadcast: Broadcast, anchor_channel: str) -> "BackendConnection":
        """Connect, and hold `anchor_channel` for as long as the connection lives.

        broadcaster's redis listener stops reading whenever redis-py has no channel subscribed,
        and (with redis-py 8) misses the wake-up of the first subscribe that follows. Holding
        one subscription from the start keeps it reading for every later one.
        """
        connection = cls(broadcast)
        await broadcast.connect()
        try:
            await connection._anchor.enter_async_context(connection.subscribe(anchor_channel))
        except BaseException:
            await connection.close(grace=1.0)
            raise
        return connection

    async def close(self, grace: float) -> None:
        """Let go of the backend, whatever state it is in, within twice `grace` seconds."""
        await _quietly(self._anchor.aclose(), grace, "release the anchor subscription")
        await _quietly(self._broadcast.disconnect(), grace, "disconnect")

    async def publish(self, channel: str, message: str) -> None:
        await self.publish_all([(channel, message)])

    async def publish_all(self, messages: Sequence[tuple[str, str]]) -> None:
        """Each (channel, message) in order; on Redis in one round trip (a pipeline)."""
        async with self._lock:
            redis = _redis_client(self._broadcast)
            if redis is None:
                for channel, message in messages:
                    await self._broadcast.publish(channel, message)
                return
            pipeline = redis.pipeline(transaction=False)
            for channel, message in messages:
                pipeline.publish(channel, message)
            await pipeline.execute()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator["Subscriber"]:
        async with AsyncExitStack() as stack:
            async with self._lock:
                subscriber = await stack.enter_async_context(self._broadcast.subscribe(channel))
            try:
                yield subscriber
            finally:
                async with self._lock:
                    await stack.aclose()


def _redis_client(broadcast: Broadcast) -> Redis | None:
    """The client broadcaster's Redis backend publishes with (a private attribute, so anything
    else, a fake broker in tests say, publishes message by message)."""
    backend = getattr(broadcast, "_backend", None)
    if not isinstance(backend, RedisBackend):
        return None
    client = getattr(backend, "_conn", None)
    return client if isinstance(client, Redis) else None


async def _quietly(operation: Awaitable[None], grace: float, what: str) -> None:
    try:
        async with asyncio.timeout(grace):
            await operation
    except Exception:
        logger.info("could not %s cleanly", what, exc_info=True)

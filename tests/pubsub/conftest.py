import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
from broadcaster import Broadcast, BroadcastBackend
from broadcaster import Event as BroadcastMessage

from dspex_gql.pubsub import Event, Hub
from tests.services import POSTGRES, REDIS, service_url

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


@pytest.fixture(params=["memory", "redis", "postgres"])
def hub_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request.param)


@pytest.fixture(params=["redis", "postgres"])
def networked_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request.param)


@pytest.fixture
async def hub(hub_url: str) -> AsyncIterator[Hub]:
    async with Hub(hub_url, heartbeat_interval=1.0) as hub:
        yield hub


@pytest.fixture
def channel() -> str:
    return f"test.{uuid.uuid4().hex}"


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


class FakeBroker:
    """An in-process stand-in for an external broker (a Redis server, say) that tests break.

    Pass `broker.connect` as a Hub's `broadcast_factory`: every connection the hub opens is a
    client of this broker.
    """

    def __init__(self) -> None:
        self.clients: set[FakeBrokerClient] = set()
        self.accepting = True
        self.refused_channels: set[str] = set()

    def connect(self, url: str) -> Broadcast:
        return Broadcast(backend=FakeBrokerClient(self))

    def subscriptions(self, channel: str) -> int:
        return sum(channel in client.channels for client in self.clients)

    def deliver(self, message: BroadcastMessage) -> None:
        for client in self.clients:
            client.receive(message)

    def go_deaf(self) -> None:
        """Stop delivering to the clients connected now, silently, as a dead listener does."""
        for client in self.clients:
            client.deaf = True

    def stop(self) -> None:
        self.accepting = False
        for client in self.clients:
            client.severed = True
        self.clients.clear()

    def start(self) -> None:
        self.accepting = True


class FakeBrokerClient(BroadcastBackend):
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.channels: set[str] = set()
        self.deaf = False
        self.severed = False
        self._inbox: asyncio.Queue[BroadcastMessage] = asyncio.Queue()

    async def connect(self) -> None:
        if not self.broker.accepting:
            raise ConnectionRefusedError("the fake broker is down")
        self.broker.clients.add(self)

    async def disconnect(self) -> None:
        self.broker.clients.discard(self)

    async def subscribe(self, channel: str) -> None:
        self._check_connection()
        if channel in self.broker.refused_channels:
            raise ConnectionError(f"the fake broker refuses {channel!r}")
        self.channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._check_connection()
        self.channels.discard(channel)

    async def publish(self, channel: str, message: str) -> None:
        self._check_connection()
        self.broker.deliver(BroadcastMessage(channel=channel, message=message))

    async def next_published(self) -> BroadcastMessage:
        return await self._inbox.get()

    def receive(self, message: BroadcastMessage) -> None:
        if message.channel in self.channels and not self.deaf:
            self._inbox.put_nowait(message)

    def _check_connection(self) -> None:
        if self.severed:
            raise ConnectionResetError("the fake broker closed this connection")

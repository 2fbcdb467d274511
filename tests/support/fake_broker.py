"""An in-process broker that tests break: it stands in for a Redis server behind a Hub."""

from __future__ import annotations

import asyncio

from broadcaster import Broadcast, BroadcastBackend
from broadcaster import Event as BroadcastMessage


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

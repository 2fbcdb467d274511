"""A shared subscription's sockets (`graphql/sinks.py`): a client that stops reading holds up
no one else, and gets the latest state, then the end, once it reads again. The socket is the one
thing faked: its send waits while the client is not reading, as a full transport buffer does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dspex_gql.graphql.sinks import Sink


class Socket:
    """What a client received; while it is `stalled`, a send waits."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.reading = asyncio.Event()
        self.reading.set()
        self.closed = False

    async def send(self, text: str) -> None:
        await self.reading.wait()
        if self.closed:
            raise RuntimeError("Cannot call send once a close message has been sent")
        self.received.append(json.loads(text))


def sink_of(socket: Socket, ended: list[str] | None = None) -> Sink:
    return Sink("7", socket.send, lambda sink: (ended if ended is not None else []).append(sink.id))


def state(n: int) -> str:
    return json.dumps({"data": {"executionUpdated": {"sequence": n}}})


def sequences(socket: Socket) -> list[object]:
    return [
        m["payload"]["data"]["executionUpdated"]["sequence"]
        for m in socket.received
        if m["type"] == "next"
    ]


async def test_a_socket_that_reads_gets_each_frame_at_once() -> None:
    socket = Socket()
    sink = sink_of(socket)

    sink.next(state(1))
    sink.next(state(2))

    assert sequences(socket) == [1, 2], "sent without the caller waiting"
    assert socket.received[0] == {"id": "7", "type": "next", "payload": json.loads(state(1))}
    assert sink.waiting == 0


async def test_a_stalled_socket_holds_up_no_one_and_skips_to_the_latest_state() -> None:
    stalled, reading = Socket(), Socket()
    stalled.reading.clear()
    ended: list[str] = []
    slow, fast = sink_of(stalled, ended), sink_of(reading)

    for n in range(1, 6):
        for sink in (slow, fast):
            sink.next(state(n))
    slow.complete()

    assert sequences(reading) == [1, 2, 3, 4, 5]
    assert stalled.received == []
    assert slow.waiting == 3, "the send under way, the latest state, the end"
    assert ended == ["7"]
    stalled.reading.set()
    await slow.drained()
    assert sequences(stalled) == [1, 5]
    assert stalled.received[-1] == {"id": "7", "type": "complete"}


async def test_an_error_ends_the_operation_after_what_came_before_it() -> None:
    stalled = Socket()
    stalled.reading.clear()
    sink = sink_of(stalled)

    sink.next(state(1))
    sink.next(state(2))
    sink.error(json.dumps([{"message": "gone"}]))
    sink.next(state(3))  # never after the end
    stalled.reading.set()
    await sink.drained()

    assert [m["type"] for m in stalled.received] == ["next", "next", "error"]
    assert stalled.received[2] == {"id": "7", "type": "error", "payload": [{"message": "gone"}]}


async def test_a_closed_socket_fails_quietly() -> None:
    closed = Socket()
    closed.closed = True
    sink = sink_of(closed)

    sink.next(state(1))
    sink.complete()
    await sink.drained()

    assert closed.received == []
    assert sink.waiting == 0

"""One socket's operation in a shared subscription (`shared_subscriptions.py`): its frames, sent
without ever holding up the other sockets.

A send to a socket normally finishes at once (the frame goes to the transport's buffer). One whose
client stopped reading waits, once that buffer is full, until it drains. The fan-out must not wait
with it: each send runs eagerly until it would wait, and only then goes on in a task of its own;
meanwhile the sink keeps only the latest `next` (each is the whole current state, so the client
skips to it once it reads again) and its final message, in order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dspex_gql.graphql.shared_subscriptions import SharedStream

Sending = Coroutine[Any, Any, None]


class Sink:
    __slots__ = (
        "_busy",
        "_over",
        "_waiting",
        "ended",
        "id",
        "next_prefix",
        "operation_name",
        "send",
        "started",
        "stream",
    )

    def __init__(
        self, id: str, send: Callable[[str], Sending], ended: Callable[[Sink], None]
    ) -> None:
        self.id = id
        self.send = send
        """The socket's own send of one text frame."""
        self.next_prefix = f'{{"id":{json.dumps(id)},"type":"next","payload":'
        self.ended = ended
        """Told when the subscription ends without the socket asking, before its last message."""
        self.stream: SharedStream | None = None
        self.operation_name: str | None = None
        self.started = time.perf_counter()
        self._busy: asyncio.Future[None] | None = None
        """A send that had to wait for the socket, until it is done."""
        self._over = False
        self._waiting: list[tuple[str, bool]] = []
        """Frames behind it, each with whether a newer `next` replaces it."""

    def next(self, payload: str) -> None:
        self._offer(f"{self.next_prefix}{payload}}}", replaceable=True)

    def error(self, errors: str) -> None:
        self.ended(self)
        self._offer(f'{{"id":{json.dumps(self.id)},"type":"error","payload":{errors}}}')

    def complete(self) -> None:
        self.ended(self)
        self._offer(f'{{"id":{json.dumps(self.id)},"type":"complete"}}')

    @property
    def waiting(self) -> int:
        """Frames not sent yet, the one being sent included."""
        return len(self._waiting) + (self._busy is not None)

    async def drained(self) -> None:
        """Until every frame offered so far has been sent (or its send failed)."""
        while self._busy is not None:
            await asyncio.shield(self._busy)  # its callback starts the next before this resumes

    def _offer(self, frame: str, *, replaceable: bool = False) -> None:
        if self._over:
            return  # nothing after the end
        self._over = not replaceable
        if self._busy is None:
            self._start(frame)
        elif replaceable and self._waiting and self._waiting[-1][1]:
            self._waiting[-1] = (frame, True)
        else:
            self._waiting.append((frame, replaceable))

    def _start(self, frame: str) -> None:
        """Send `frame`, then what waits behind it, until a send has to wait."""
        while True:
            self._busy = send_eagerly(self.send(frame))
            if self._busy is not None:
                self._busy.add_done_callback(self._sent)
                return
            if not self._waiting:
                return
            frame = self._waiting.pop(0)[0]

    def _sent(self, _: asyncio.Future[None]) -> None:
        self._busy = None
        if self._waiting:
            self._start(self._waiting.pop(0)[0])


def send_eagerly(sending: Sending) -> asyncio.Future[None] | None:
    """Run `sending` until it first has to wait, then let a task finish it: that task, or None
    when it finished at once (the usual case) or failed (a closing socket, whose handler leaves).
    """
    try:
        waiting = sending.send(None)
    except StopIteration:
        return None
    except Exception:
        return None
    return asyncio.ensure_future(_finish(sending, waiting))


async def _finish(sending: Sending, waiting: Any) -> None:
    """Go on with a coroutine suspended on `waiting` (what it yielded: an asyncio future, or None
    for a bare yield), as a task would have."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                await waiting  # its outcome reaches `sending` when resumed
        except asyncio.CancelledError:
            sending.close()
            raise
        except Exception:
            pass
        try:
            waiting = sending.send(None)
        except StopIteration:
            return
        except Exception:
            return

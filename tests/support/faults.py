"""Faults on demand: a TCP proxy on loopback that a test can cut or silence, and a commit whose
answer is lost, a statement the database refuses.

    async with TcpProxy("127.0.0.1", 5432) as proxy:      # clients connect to proxy.port
        proxy.cut()        # every connection closed, new ones closed at once
        await proxy.refused.wait()                         # somebody tried while cut
        proxy.silence()    # connections stay open, nothing gets through until restored
        proxy.restore()

Runs in the test's event loop, so a service under test in the same loop or in another process
talks to its database (or Redis) through it.

    with commit_answer_lost(runtime.engine, "executions") as lost:   # the next such commit
        ...                                                          # stores, then raises
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from enum import Enum
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

CHUNK = 65536


class Mode(Enum):
    PASS = "pass"
    CUT = "cut"
    SILENT = "silent"


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = Mode.PASS
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.refused = asyncio.Event()
        """Set when a connection was closed or refused because the proxy was cut."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        self._close_all()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    def url_for(self, url: str) -> str:
        """`url` (a database or Redis url pointing at the target) through this proxy."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(False)

    def cut(self) -> None:
        self.mode = Mode.CUT
        self.refused.clear()
        self._flowing.set()  # let stalled pumps see the cut and close
        self._close_all()

    def silence(self) -> None:
        """Like a network partition: bytes are held back (TCP would retransmit them)."""
        self.mode = Mode.SILENT
        self._flowing.clear()

    def restore(self) -> None:
        self.mode = Mode.PASS
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.CUT:
            self.refused.set()
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(CHUNK):
                await self._flowing.wait()
                if self.mode is Mode.CUT:
                    self.refused.set()
                    break
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(sink)
            sink.close()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()


@contextlib.contextmanager
def commit_answer_lost(engine: AsyncEngine, table: str) -> Iterator[list[int]]:
    """The first commit of a transaction that inserted into `table` goes through, but its caller
    hears that the connection was lost, as when it drops after COMMIT reached the database. Yields
    the number of answers lost so far (`[n]`)."""
    lost, wrote = [0], f"INSERT INTO {table} "

    def before_cursor_execute(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(wrote):
            connection.info["wrote_table"] = True

    def after_begin(session: Session, _transaction: Any, connection: Any) -> None:
        connection.info.pop("wrote_table", None)
        session.info["connection_info"] = connection.info

    def after_commit(session: Session) -> None:
        info = session.info.pop("connection_info", {})
        if info.pop("wrote_table", False) and not lost[0]:
            lost[0] += 1
            raise OSError("the connection was lost after COMMIT was sent")

    listeners = (
        (engine.sync_engine, "before_cursor_execute", before_cursor_execute),
        (Session, "after_begin", after_begin),
        (Session, "after_commit", after_commit),
    )
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield lost
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


@contextlib.contextmanager
def database_refuses(engine: AsyncEngine, refused: Callable[[str], bool]) -> Iterator[list[str]]:
    """Each statement for which `refused(sql)` holds fails as when the database refuses the data
    (a DataError: no retry cures it). Yields the statements refused so far."""
    seen: list[str] = []

    def before_cursor_execute(
        _connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        if refused(statement):
            seen.append(statement)
            raise DataError(statement, parameters, ValueError("the database refused this row"))

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)

"""`dspex-gql serve` in a real process, for tests that need real sockets (a browser, a
websocket client) or that kill and restart the service."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.support.http_client import GraphQLClient

STARTUP_SECONDS = 30
ADMIN_KEY_LINE = re.compile(r"^Admin API key: (dsx_\S+)$", re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`dspex-gql serve` in its own process and working directory."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        log: str = "serve.log",
        options: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / log
        serve = ["serve", "--port", str(self.port), *options]
        command = [sys.executable, "-m", "dspex_gql", *serve]
        with self.log.open("w") as output:  # the process writes to its own copy of the file
            self.process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)  # polling a process that is starting; there is no event to await
        raise AssertionError(f"server not ready:\n{self.log.read_text()}")

    def printed_keys(self) -> list[str]:
        return ADMIN_KEY_LINE.findall(self.log.read_text())

    @property
    def authorization(self) -> str:
        """`Bearer <the admin key the first start printed>`."""
        return f"Bearer {self.printed_keys()[0]}"

    @property
    def websocket_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def client(self, key: str | None) -> AbstractAsyncContextManager[GraphQLClient]:
        """A GraphQL client of this server, acting with `key` (None: no credential)."""
        return GraphQLClient.for_url(self.url, key)

    async def post(self, query: str, key: str | None, **variables: Any) -> dict[str, Any]:
        """The whole response to one request made with `key`."""
        async with self.client(key) as client:
            return await client.execute(query, **variables)

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """The `data`, as the admin whose key the first start printed."""
        async with self.client(self.printed_keys()[0]) as client:
            return await client.data(query, **variables)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=STARTUP_SECONDS)


class Worker:
    """`dspex-gql worker` in its own process (`DSPEX_JOBS=procrastinate`)."""

    def __init__(
        self, workdir: Path, env: dict[str, str], log: str, options: Sequence[str] = ()
    ) -> None:
        self.log = workdir / log
        command = [sys.executable, "-m", "dspex_gql", "worker", *options]
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_ready(self, queues: int = 3) -> None:
        """Once each of its `queues` workers has started."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._ready(queues):
            assert time.monotonic() < deadline, f"worker not ready:\n{self.log.read_text()}"
            time.sleep(0.05)  # polling a process that is starting; there is no event to await

    async def ready(self, queues: int = 3) -> None:
        """`wait_ready`, letting the event loop run meanwhile (a proxy of this test's, say)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._ready(queues):
            assert time.monotonic() < deadline, f"worker not ready:\n{self.log.read_text()}"
            await asyncio.sleep(0.05)  # polling a process that is starting

    def _ready(self, queues: int) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        return self.log.read_text().count("Starting worker on queues") >= queues

    def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops it; its exit status. One that does not end in time is
        killed, and the test fails."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the worker did not stop:\n{self.log.read_text()}") from None


async def polled(
    server: Server, key: str, query: str, field: str, id: str, done: Callable[[Any], bool]
) -> dict[str, Any]:
    """`field` of `query(id: id)` once `done(it)` holds, read through `server`: what another
    process does is polled, there is no event to await here."""
    deadline = time.monotonic() + 4 * STARTUP_SECONDS
    while time.monotonic() < deadline:
        state: dict[str, Any] = (await server.post(query, key, id=id))["data"][field]
        if done(state):
            return state
        await asyncio.sleep(0.05)  # polling another process
    raise AssertionError(f"{id} did not get there:\n{server.log.read_text()}")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no DSPEX_* configuration at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSPEX_")}
    return env | extra


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`dspex-gql ARGS` run to its end, as an operator types it: its status, stdout and stderr."""
    command = [sys.executable, "-m", "dspex_gql", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=4 * STARTUP_SECONDS
    )


def start_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`dspex-gql ARGS` started, for the test to do something while it runs."""
    command = [sys.executable, "-m", "dspex_gql", *args]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one `error:` line a failed command printed (and no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error: " in line]
    assert len(lines) == 1, result.stderr
    return lines[0]

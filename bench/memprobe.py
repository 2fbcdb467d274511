"""Memory of a server process over a long run, written where the parent can read it.

In the server, `MemoryProbe(directory, every_seconds, baseline_after_seconds, frames).install()`
appends one JSON line per `every_seconds` to `directory/samples.jsonl`:

- `rss_kib`: resident memory (Linux /proc), what an operator's dashboard shows;
- `malloc_in_use_kib` / `malloc_free_kib`: glibc's heap (mallinfo2), where SQLite's page cache,
  C extensions and Python objects over 512 bytes live; free-but-kept memory is fragmentation;
- `python_blocks`: `sys.getallocatedblocks()`, every live pymalloc/malloc block Python owns;
- `gc_objects`: objects the garbage collector tracks (containers);
- `traced_kib`: what tracemalloc sees allocated now, when `frames` > 0.

With `frames` > 0, tracemalloc runs from start-up, and the heap is dumped twice: once when
`baseline_after_seconds` have passed (`baseline.snapshot`: after warm-up, caches filled) and at
every later sample (`latest.snapshot`), with the live objects counted by type beside each
(`baseline.types.json`, `latest.types.json`). `bench.soak` compares them.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo2() -> _MallInfo2 | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        function = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    info: _MallInfo2 = function()
    return info


def rss_kib() -> int:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * PAGE_KIB


def live_types() -> dict[str, int]:
    counts = collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
    )
    return dict(counts)


class MemoryProbe:
    def __init__(
        self, directory: Path, every_seconds: float, baseline_after_seconds: float, frames: int
    ) -> None:
        self.directory = directory
        self.every_seconds = every_seconds
        self.baseline_after_seconds = baseline_after_seconds
        self.frames = frames
        self._started = time.monotonic()
        self._baseline_taken = False
        self._task: asyncio.Task[None] | None = None

    def install(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.frames > 0:
            tracemalloc.start(self.frames)
        self._task = asyncio.get_running_loop().create_task(self._sample_forever())

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            self.sample()

    def sample(self) -> None:
        elapsed = time.monotonic() - self._started
        line = {"seconds": round(elapsed, 1), **self.figures()}
        with (self.directory / "samples.jsonl").open("a") as file:
            file.write(json.dumps(line) + "\n")
        if self.frames > 0 and elapsed >= self.baseline_after_seconds:
            self._dump("latest" if self._baseline_taken else "baseline")
            self._baseline_taken = True

    def figures(self) -> dict[str, int]:
        found = {
            "rss_kib": rss_kib(),
            "python_blocks": sys.getallocatedblocks(),
            "gc_objects": len(gc.get_objects()),
        }
        info = _mallinfo2()
        if info is not None:
            found["malloc_in_use_kib"] = (info.uordblks + info.hblkhd) // 1024
            found["malloc_free_kib"] = info.fordblks // 1024
        if tracemalloc.is_tracing():
            found["traced_kib"] = tracemalloc.get_traced_memory()[0] // 1024
        return found

    def _dump(self, name: str) -> None:
        """Written beside, then renamed: the parent never reads half a file."""
        snapshot = tracemalloc.take_snapshot()
        partial = self.directory / f"{name}.snapshot.partial"
        snapshot.dump(str(partial))
        partial.replace(self.directory / f"{name}.snapshot")
        types = self.directory / f"{name}.types.json.partial"
        types.write_text(json.dumps(live_types()))
        types.replace(self.directory / f"{name}.types.json")

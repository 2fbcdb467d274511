"""Garbage-collector pauses of a server process, per generation, over a window the parent chooses.

In the server: `GCStats(path).install()` counts collections and their wall time; SIGUSR1 resets the
counts, SIGUSR2 writes them to `path` (JSON, atomically). The parent sends SIGUSR1 when a measured
window starts and SIGUSR2 when it stops (`ServerProcess.gc_window`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time
from pathlib import Path
from typing import Any


class GCStats:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._started = 0.0
        self._window_started = time.perf_counter()
        self._pauses: dict[int, list[float]] = {}

    def attach(self) -> GCStats:
        gc.callbacks.append(self._on_gc)
        return self

    def detach(self) -> None:
        gc.callbacks.remove(self._on_gc)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach, and answer SIGUSR1 (reset) and SIGUSR2 (write to `path`)."""
        self.attach()
        loop.add_signal_handler(signal.SIGUSR1, self.reset)
        loop.add_signal_handler(signal.SIGUSR2, self.write)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._started) * 1000
            self._pauses.setdefault(int(info["generation"]), []).append(pause)

    def reset(self) -> None:
        self._pauses = {}
        self._window_started = time.perf_counter()

    def figures(self) -> dict[str, Any]:
        window_ms = (time.perf_counter() - self._window_started) * 1000
        total = sum(sum(pauses) for pauses in self._pauses.values())
        return {
            "window_ms": round(window_ms, 1),
            "pause_total_ms": round(total, 1),
            "share_of_window": round(total / window_ms, 3) if window_ms else 0.0,
            "frozen_objects": gc.get_freeze_count(),
            "by_generation": {
                str(generation): {
                    "collections": len(pauses),
                    "total_ms": round(sum(pauses), 1),
                    "max_ms": round(max(pauses), 2),
                }
                for generation, pauses in sorted(self._pauses.items())
            },
        }

    def write(self) -> None:
        assert self.path is not None, "GCStats(path) writes to path"
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.figures()))
        os.replace(partial, self.path)

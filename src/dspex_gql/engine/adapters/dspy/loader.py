"""DSPy is imported on first use, off the event loop: importing this package costs nothing.

`await load_dspy()` imports `dspy` once in a worker thread (about half a second), turns off
DSPy's response caches (a service must not answer from a cache nobody asked for) and loads the
price table DSPy prices calls with (fetched once unless `LITELLM_LOCAL_MODEL_COST_MAP=True`, the
bundled copy otherwise). `load_dspy_sync()` does the same for the synchronous checks run at
program initialization.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import Any

INSTALL_HINT = "the dspy adapter needs DSPy: pip install 'dspex-gql[dspy]'"

_dspy: Any | None = None
_import_lock = threading.Lock()
_load_lock = asyncio.Lock()


def loaded_dspy() -> Any | None:
    """The configured `dspy` module once loaded, else None; never imports it."""
    return _dspy


class DspyUnavailable(RuntimeError):
    """DSPy is not installed (it is the optional `dspy` extra)."""


def require_dspy() -> Any:
    if _dspy is None:
        raise RuntimeError("dspy is not loaded yet: await load_dspy() first")
    return _dspy


async def load_dspy() -> Any:
    if _dspy is not None:
        return _dspy
    async with _load_lock:
        return _dspy if _dspy is not None else await asyncio.to_thread(load_dspy_sync)


def load_dspy_sync() -> Any:
    """Blocks while `dspy` is imported the first time: from async code use `load_dspy`.
    `DspyUnavailable` when DSPy is not installed."""
    global _dspy
    with _import_lock:
        if _dspy is None:
            try:
                module = importlib.import_module("dspy")
            except ImportError as error:
                raise DspyUnavailable(INSTALL_HINT) from error
            module.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
            importlib.import_module("dspy.clients.model_metadata").source_info()
            _dspy = module
    return _dspy


def is_lm_error(error: BaseException) -> bool:
    """DSPy's `LMError` (a provider, transport or configuration failure of an LM call)."""
    if _dspy is None:
        return False
    exceptions = importlib.import_module("dspy.utils.exceptions")
    return isinstance(error, exceptions.LMError)


def is_parse_error(error: BaseException) -> bool:
    """DSPy's `AdapterParseError`: the model answered, but not in the expected shape."""
    if _dspy is None:
        return False
    exceptions = importlib.import_module("dspy.utils.exceptions")
    return isinstance(error, exceptions.AdapterParseError)

"""CUSTOM dspy programs: `dspy.Module` subclasses registered in the `dspex_gql.dspy_modules`
entry point group (`self_check = "dspex_gql.engine.adapters.dspy.self_check:SelfCheck"`) and
named by a program's `implementation`. Each is built as `Module(signature)` and must define
`async def aforward(**inputs)`."""

from __future__ import annotations

import inspect
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from dspex_gql.engine.adapters.dspy.loader import require_dspy

MODULES_GROUP = "dspex_gql.dspy_modules"


class CustomModuleError(LookupError):
    def __str__(self) -> str:
        return str(self.args[0])


def custom_module_names() -> list[str]:
    """The registered implementations; reads installed metadata only, imports nothing."""
    return sorted({entry_point.name for entry_point in entry_points(group=MODULES_GROUP)})


def custom_module_class(name: str | None) -> Any:
    """The registered `dspy.Module` subclass; `CustomModuleError` saying why not otherwise."""
    if name is None:
        raise CustomModuleError("CUSTOM dspy programs name an implementation")
    if name not in custom_module_names():
        available = ", ".join(custom_module_names()) or "none"
        raise CustomModuleError(f"unknown dspy module '{name}'; available: {available}")
    return _load_module_class(name)


@cache
def _load_module_class(name: str) -> Any:
    entry_point = next(ep for ep in entry_points(group=MODULES_GROUP) if ep.name == name)
    try:
        loaded = entry_point.load()
    except Exception as error:
        raise CustomModuleError(f"dspy module '{name}' could not be loaded: {error}") from error
    dspy = require_dspy()
    if not (isinstance(loaded, type) and issubclass(loaded, dspy.Module)):
        raise CustomModuleError(f"dspy module '{name}' is not a dspy.Module subclass")
    if not inspect.iscoroutinefunction(getattr(loaded, "aforward", None)):
        raise CustomModuleError(f"dspy module '{name}' has no `async def aforward`")
    return loaded

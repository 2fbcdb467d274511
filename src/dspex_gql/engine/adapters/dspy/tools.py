"""Tools a ReAct program may use: plain callables registered in the `dspex_gql.tools` entry
point group (`calculator = "dspex_gql.engine.adapters.dspy.calculator:calculator"`), named in a
configuration as `{"tools": ["calculator"]}`. Never code sent over the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from importlib.metadata import entry_points
from typing import Any

TOOLS_GROUP = "dspex_gql.tools"


class ToolError(LookupError):
    def __str__(self) -> str:
        return str(self.args[0])


def tool_names() -> list[str]:
    """The registered tool names; reads installed metadata only, imports nothing."""
    return sorted({entry_point.name for entry_point in entry_points(group=TOOLS_GROUP)})


def unknown_tools(names: Iterable[str]) -> list[str]:
    known = set(tool_names())
    return [name for name in names if name not in known]


def load_tools(names: Iterable[str]) -> list[Callable[..., Any]]:
    """The tools named, in order; `ToolError` naming any unknown or broken one."""
    names = list(names)
    if unknown := unknown_tools(names):
        available = ", ".join(tool_names()) or "none"
        raise ToolError(f"unknown tools {', '.join(unknown)}; available: {available}")
    return [_load_tool(name) for name in names]


@cache
def _load_tool(name: str) -> Callable[..., Any]:
    [entry_point] = [ep for ep in entry_points(group=TOOLS_GROUP) if ep.name == name][:1]
    try:
        tool: Callable[..., Any] = entry_point.load()
    except Exception as error:
        raise ToolError(f"tool '{name}' could not be loaded: {error}") from error
    if not callable(tool):
        raise ToolError(f"tool '{name}' is not callable")
    return tool

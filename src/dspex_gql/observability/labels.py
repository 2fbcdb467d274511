"""Label values that come from outside (operation names, model names), kept few: a metric's
series grow with each distinct value, so past a limit new values share one child, `other`.

    names = BoundedChildren(200, counter.labels, valid=is_graphql_name)
    names["listPrograms"].inc()    # its own series
    names[None].inc()              # "anonymous"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

ANONYMOUS = "anonymous"
OTHER = "other"
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
MAX_LABEL_CHARS = 128

Child = TypeVar("Child")


def is_graphql_name(name: str) -> bool:
    return GRAPHQL_NAME.fullmatch(name) is not None


def is_short(name: str) -> bool:
    return 0 < len(name) <= MAX_LABEL_CHARS


class BoundedChildren(Generic[Child]):
    """What `make(label)` returns for at most `limit` distinct names, made once each."""

    def __init__(
        self, limit: int, make: Callable[[str], Child], valid: Callable[[str], bool] = is_short
    ) -> None:
        self._limit = limit
        self._make = make
        self._valid = valid
        self._known: dict[str | None, Child] = {None: make(ANONYMOUS)}
        self._other = make(OTHER)

    def __getitem__(self, name: str | None) -> Child:
        child = self._known.get(name)
        if child is not None:
            return child
        if name is None or len(self._known) > self._limit or not self._valid(name):
            return self._other
        child = self._known[name] = self._make(name)
        return child

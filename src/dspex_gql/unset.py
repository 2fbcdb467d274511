"""`UNSET`: a field the caller did not send, as opposed to one sent as null."""

from __future__ import annotations

import enum
from typing import TypeAlias, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = Unset.UNSET

Maybe: TypeAlias = T | Unset

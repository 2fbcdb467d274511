from __future__ import annotations

import dataclasses
from typing import Any

import strawberry


def provided(value: Any) -> dict[str, Any]:
    """The fields of an input the client actually sent (null included, omitted left out)."""
    return {
        field.name: given
        for field in dataclasses.fields(value)
        if (given := getattr(value, field.name)) is not strawberry.UNSET
    }

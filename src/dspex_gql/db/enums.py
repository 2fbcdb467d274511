from __future__ import annotations

from enum import Enum as PyEnum

from sqlalchemy import Enum


def enum_column(enum: type[PyEnum], name: str) -> Enum:
    """A portable enum column: a short string with a CHECK constraint, not a native type."""
    return Enum(enum, native_enum=False, length=32, create_constraint=True, name=name)

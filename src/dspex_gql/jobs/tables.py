"""What in the database belongs to procrastinate (migration 0009), not to our models: its tables,
types and functions are all named `procrastinate_*`."""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "procrastinate_"


def ours(name: str | None, type_: str, _parent_names: Mapping[str, str | None]) -> bool:
    """An alembic `include_name` hook: autogenerate compares our models with the database and
    must not propose dropping procrastinate's tables, e.g. `ours("procrastinate_jobs", "table",
    {})` is False."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX))

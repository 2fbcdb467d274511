"""Telling a database that is unavailable (worth retrying, or reporting as such) from a bug."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def database_unavailable(error: BaseException) -> bool:
    """A lost or refused connection, a timeout, a locked SQLite file: the same statement may
    succeed later. Constraint violations, bad data and programming errors never will."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout | TimeoutError | OSError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated

"""Telling a database that is unavailable (worth retrying, or reporting as such) from a bug."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)
"""SQLite reports its busy lock and a missing table alike as OperationalError: only these are
about availability."""


def database_unavailable(error: BaseException) -> bool:
    """A lost or refused connection, a timeout, a locked SQLite file: the same statement may
    succeed later. Constraint violations, bad data and programming errors never will."""
    if isinstance(error, PoolTimeout | TimeoutError | OSError | InterfaceError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        return any(text in str(error.orig).lower() for text in SQLITE_UNAVAILABLE)
    return isinstance(error, OperationalError)

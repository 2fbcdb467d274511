"""What a command that failed prints: one line and an exit status, never a traceback.

Status 2: the command was given something wrong (an argument, a setting, an unknown name or
revision). Status 1: it could not do its work (the database or the pub/sub backend is
unreachable, something unexpected happened).
"""

from __future__ import annotations

import socket
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from dspex_gql.cli.arguments import USAGE_ERROR
from dspex_gql.errors import DomainError, NotFound

RUNTIME_ERROR = 1


class Unusable(Exception):
    """Something the command needs does not answer; the message says what and why."""


def failure_of(error: Exception) -> tuple[int, str]:
    """`(exit status, message)` for any exception a command let out."""
    from alembic.script.revision import RevisionError  # imported only when a command failed
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from dspex_gql.pubsub import HubUnavailable

    if isinstance(error, ValidationError):  # settings: one part per problem
        return USAGE_ERROR, "; ".join(_problem(detail) for detail in error.errors())
    if isinstance(error, NotFound):
        return USAGE_ERROR, f"{error.resource} {error.id!r} not found" if error.id else str(error)
    if isinstance(error, DomainError | ValueError | SettingsError):
        return USAGE_ERROR, _first_line(error)
    if isinstance(error, CommandError | RevisionError):
        return USAGE_ERROR, f"migrations: {_first_line(error)}"
    if isinstance(error, HubUnavailable):
        return RUNTIME_ERROR, f"{error} (DSPEX_BROADCAST_URL)"
    if isinstance(error, ConnectionError | socket.gaierror | TimeoutError | SQLAlchemyError):
        return RUNTIME_ERROR, f"the database did not answer: {_reason(error)} (DSPEX_DATABASE_URL)"
    if isinstance(error, OSError):
        return RUNTIME_ERROR, f"{error.filename or ''}: {error.strerror or _first_line(error)}"
    if isinstance(error, Unusable):
        return RUNTIME_ERROR, str(error)
    return RUNTIME_ERROR, f"unexpected {type(error).__name__}: {_first_line(error)}"


def _problem(detail: Any) -> str:
    message = str(detail["msg"]).removeprefix("Value error, ")
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {message}" if where else message


def _reason(error: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement and link lines."""
    original = getattr(error, "orig", None) or error
    return _first_line(original) or type(original).__name__


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

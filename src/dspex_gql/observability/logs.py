"""One log format on one stream (stderr) for every logger of the process — ours, uvicorn's,
SQLAlchemy's, procrastinate's — text or JSON lines, each with the id of the request it is for.

    configure_logging(LogSettings(format="json"))
    # {"time":"2026-12-05T22:14:03.512Z","level":"INFO","logger":"dspex_gql.runs",
    #  "message":"execution:… finished: completed","request_id":"3f2a…","run":"execution:…"}

The standard library's logging, not structlog: every library here already logs through it, so
one handler formats all of them alike, with no bridge and no dependency.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from dspex_gql.config import LogSettings
from dspex_gql.observability.context import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "dspex_gql"
QUIET = {"alembic": logging.WARNING}
"""Loggers whose INFO lines are noise at every start (alembic's plugins and context set-up)."""
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (None outside a request) to every record the handler sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [request {request_id}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """A JSON object a line; fields passed with `extra=` are kept beside the standard ones."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        fields = record.__dict__
        for name in fields.keys() - STANDARD_ATTRIBUTES:
            if fields[name] is not None:
                entry[name] = fields[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def _utc(created: float) -> str:
    """`2026-12-05T22:14:03.512Z`."""
    milliseconds = int(created * 1000) % 1000
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(created))}.{milliseconds:03d}Z"


def _skip_unused_record_fields() -> None:
    """No format here shows a line's source, thread or process: skip finding them (the logging
    HOWTO's "Optimization": about a third of a line's cost on this machine)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line comes (as `logging.lastResort` does)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(settings: LogSettings, stream: Any = None) -> logging.Handler:
    """Give the root logger the process's one handler (replacing the one a previous call gave
    it; other handlers, a test runner's say, stay): to `stream`, by default stderr."""
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    if not root.handlers:  # no other handler may show a line's source, thread or process
        _skip_unused_record_fields()
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(settings.level)))
    return handler

"""The process's logging: one handler on the root logger, text or JSON lines, each record with the
id of the request it belongs to, every value cut to a sane length.

`GRANTS_LOG_FORMAT=text` (the default, for people reading `make run`) or `json` (one object a
line, for a log collector: time, level, logger, message, request_id, and for the access line
method, path, status, duration_ms). `configure` is called once per server process, by the app
factory; tests call it with a stream of their own.

The request id lives in a context variable set by the web layer (grants/web/request_id.py), so
any record logged while a request is served carries it, from a service as much as a handler.

Why cut: a value a user typed can be a megabyte, and a log is not the place to keep it (nor to
fill a disk with it). Messages, their arguments once formatted, and each line of a traceback
are cut to `MAX_CHARS`.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from grants.settings import Settings

MAX_CHARS = 2000
# The request being served (grants/web/request_id.py sets it); "" outside a request.
request_id: ContextVar[str] = ContextVar("request_id", default="")
# Set on the access line (grants/web/request_id.py), put in JSON as fields of their own.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms")
# uvicorn's own loggers: its access log is replaced by grants.access, which carries the request
# id and the duration and leaves out query strings.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
UVICORN_ACCESS = "uvicorn.access"
ACCESS_LOGGER = "grants.access"


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """`text`, or its first `limit` characters and how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters cut]"


class CutLongValues(logging.Filter):
    """Cut the formatted message and each line of a traceback to MAX_CHARS (on the record, so
    every handler sees the short version); add the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > MAX_CHARS:
            record.msg, record.args = cut(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:  # another handler may have formatted it first
            record.exc_text = "\n".join(cut(line) for line in record.exc_text.splitlines())
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`2026-12-01 12:00:00,123 INFO grants.access [3f2a…] GET /calls 200 12.3 ms`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.request = f" [{rid}]" if rid else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "")
        if rid:
            entry["request_id"] = rid
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = cut(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class GrantsHandler(logging.StreamHandler):
    """The handler `configure` installs (marked by its class, so a second call replaces it)."""


def configure(settings: Settings, *, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record of the process through one handler in the chosen format.

    The level is uvicorn's (`grants serve --log-level`) when uvicorn set one, else INFO."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, GrantsHandler)]:
        root.removeHandler(handler)
    handler = GrantsHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(CutLongValues())
    root.addHandler(handler)
    root.setLevel(logging.getLogger("uvicorn.error").level or logging.INFO)
    access = logging.getLogger(UVICORN_ACCESS)
    logging.getLogger(ACCESS_LOGGER).setLevel(access.level or logging.INFO)
    for name in UVICORN_LOGGERS:  # through this handler, in this format
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return handler

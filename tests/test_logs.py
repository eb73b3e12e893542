"""The process's logging (grants/logs.py): text or JSON lines, the request id on every record
logged during a request, long values cut."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from grants import logs
from grants.settings import load_settings


@contextlib.contextmanager
def capturing(log_format: str) -> Iterator[io.StringIO]:
    """`logs.configure` into a stream; the process's logging put back afterwards."""
    root = logging.getLogger()
    saved_level = root.level
    access = logging.getLogger(logs.UVICORN_ACCESS)
    saved_access = (access.handlers[:], access.propagate, access.disabled)
    stream = io.StringIO()
    settings = load_settings({"GRANTS_SECRET_KEY": "x", "GRANTS_LOG_FORMAT": log_format})
    logs.configure(settings, stream=stream)
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if isinstance(h, logs.GrantsHandler)]:
            root.removeHandler(handler)
        root.setLevel(saved_level)
        access.handlers[:], access.propagate, access.disabled = saved_access
        logs.request_id.set("")


@pytest.fixture
def configured():
    """configured(format) → the stream the process now logs into."""
    with contextlib.ExitStack() as stack:
        yield lambda log_format: stack.enter_context(capturing(log_format))


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_json_line_has_time_level_logger_message_and_the_request_id(configured):
    stream = configured("json")
    logs.request_id.set("req-0001-abcd")
    logging.getLogger("grants.test").warning("mail %d to %s not sent", 7, "a@example.org")
    logging.getLogger("grants.access").info(
        "GET / 200", extra={"method": "GET", "path": "/", "status": 200, "duration_ms": 1.5}
    )

    first, access = (json.loads(line) for line in lines(stream))
    assert first["level"] == "WARNING" and first["logger"] == "grants.test"
    assert first["message"] == "mail 7 to a@example.org not sent"
    assert first["request_id"] == "req-0001-abcd"
    assert first["time"].startswith("20") and "T" in first["time"]
    assert "method" not in first
    assert {k: access[k] for k in ("method", "path", "status", "duration_ms")} == {
        "method": "GET",
        "path": "/",
        "status": 200,
        "duration_ms": 1.5,
    }


def test_outside_a_request_a_record_has_no_request_id(configured):
    stream = configured("json")
    logging.getLogger("grants.test").warning("sender loop started")
    assert "request_id" not in json.loads(lines(stream)[0])


def test_text_lines_show_the_request_id_in_brackets(configured):
    stream = configured("text")
    logs.request_id.set("req-0002-abcd")
    logging.getLogger("grants.test").warning("database busy")
    assert lines(stream)[0].endswith("WARNING grants.test [req-0002-abcd] database busy")


def test_a_megabyte_value_is_cut_in_the_message_and_in_a_traceback(configured):
    stream = configured("json")
    huge = "x" * 1_000_000
    logging.getLogger("grants.test").warning("reference %s refused", huge)
    try:
        raise ValueError(f"value too long: {huge}")
    except ValueError:
        logging.getLogger("grants.test").exception("unhandled error")

    message, error = (json.loads(line) for line in lines(stream))
    assert len(message["message"]) < logs.MAX_CHARS + 100
    assert message["message"].startswith("reference xxx")
    left_out = len("reference  refused") + 1_000_000 - logs.MAX_CHARS
    assert message["message"].endswith(f"[{left_out} more characters cut]")
    assert len(error["exception"]) < 3 * logs.MAX_CHARS
    assert "ValueError: value too long: xxx" in error["exception"]
    assert "more characters cut]" in error["exception"]


def test_configuring_twice_keeps_one_handler_and_turns_off_uvicorn_s_access_log(configured):
    configured("text")
    configured("json")
    root = logging.getLogger()
    assert sum(isinstance(h, logs.GrantsHandler) for h in root.handlers) == 1
    assert logging.getLogger(logs.UVICORN_ACCESS).disabled
    assert root.level == logging.INFO


def test_the_log_format_setting_defaults_to_text_and_refuses_other_values():
    assert load_settings({"GRANTS_SECRET_KEY": "x"}).log_format == "text"
    chosen = load_settings({"GRANTS_SECRET_KEY": "x", "GRANTS_LOG_FORMAT": " JSON "})
    assert chosen.log_format == "json"
    with pytest.raises(ValueError, match="GRANTS_LOG_FORMAT must be one of text, json"):
        load_settings({"GRANTS_SECRET_KEY": "x", "GRANTS_LOG_FORMAT": "xml"})

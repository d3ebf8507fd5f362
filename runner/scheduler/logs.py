"""Structured logs of the scheduler: one event per line, as text for people or JSON lines.

Every line has a time (`ts`, UTC), a `level`, an `event` name (run_started, run_finished,
run_failed, run_missed, playbook_invalid, ...) and fields such as `playbook`. The scheduler
calls `log_event(...)`; `configure_logging` points the `runner` and `apscheduler` loggers at
one stream in the chosen format, so messages of the libraries come out in the same shape.

Only names, outcomes, counts and error messages are logged: never credentials, and never a
playbook's environment values.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

LOGGER_NAME = "runner.scheduler"
log = logging.getLogger(LOGGER_NAME)

_FIELDS_ATTR = "runner_fields"
_EVENT_ATTR = "runner_event"
LOG_FORMATS = ("text", "json")


def log_event(level: int, event: str, **fields: Any) -> None:
    """Log `event` with its fields (None values are left out)."""
    clean = {k: v for k, v in fields.items() if v is not None}
    log.log(level, event, extra={_EVENT_ATTR: event, _FIELDS_ATTR: clean})


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    millis = int((record.created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _event_and_fields(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    event = getattr(record, _EVENT_ATTR, None)
    fields: Mapping[str, Any] = getattr(record, _FIELDS_ATTR, {})
    if event is None:
        # a message from a library or another part of runner
        return "log", {"logger": record.name, "message": record.getMessage()}
    return str(event), dict(fields)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, event, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields = _event_and_fields(record)
        document: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "event": event,
        }
        for key, value in fields.items():
            document.setdefault(key, _plain(value))
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`ts LEVEL event key=value ...`; a `problems` list follows on indented lines."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields = _event_and_fields(record)
        problems = fields.pop("problems", None)
        parts = [_timestamp(record), f"{record.levelname:<7}", event]
        parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
        text = " ".join(parts)
        if isinstance(problems, list | tuple):
            text += "".join(f"\n    {problem}" for problem in problems)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _text_value(value: Any) -> str:
    plain = _plain(value)
    if isinstance(plain, dict | list):
        return json.dumps(plain, default=str, separators=(",", ":"))
    text = str(plain)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def configure_logging(stream: TextIO, log_format: str = "text") -> logging.Handler:
    """Send the scheduler's events, runner's warnings and the scheduler library's errors to
    `stream`; returns the handler (remove it with `remove_logging`)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    runner_logger = logging.getLogger("runner")
    runner_logger.addHandler(handler)
    runner_logger.setLevel(logging.INFO)
    runner_logger.propagate = False
    library = logging.getLogger("apscheduler")
    # Its warnings (a missed run, a skipped instance) are reported as our own events, with
    # the playbook and the journal entry; only its errors are passed through as they are.
    library.addHandler(handler)
    library.setLevel(logging.ERROR)
    library.propagate = False
    return handler


def remove_logging(handler: logging.Handler) -> None:
    for name in ("runner", "apscheduler"):
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        if not logger.handlers:
            logger.propagate = True
            logger.setLevel(logging.NOTSET)

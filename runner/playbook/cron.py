"""Check a 5-field cron string (minute hour day-of-month month day-of-week) without a scheduler.

`runner validate` must not import the scheduler library, so the syntax is checked here, field
by field: `*`, numbers, names (JAN-DEC, SUN-SAT), ranges `a-b`, steps `*/n`, `a-b/n`, `a/n`
and comma lists. Weekdays follow crontab: 0 and 7 are Sunday (the scheduler, not this module,
translates them for APScheduler, which counts from Monday). This module only answers "is it
valid, and if not, why"; it never computes run times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ITEM = re.compile(r"(?P<start>\*|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?(?:/(?P<step>[0-9]+))?\Z")

CRON_EXAMPLE = "e.g. '*/5 * * * *' for every 5 minutes"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


def cron_error(expression: str) -> str | None:
    """Why `expression` is not a valid 5-field cron string, or None when it is."""
    if expression.strip().startswith("@"):
        return f"{expression.strip()!r} shortcuts are not supported"
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        extra = " (runner's cron has no seconds or years field)" if len(parts) > 5 else ""
        return f"a cron string has 5 fields, found {len(parts)}{extra}"
    for text, spec in zip(parts, _FIELDS, strict=True):
        reason = _field_error(text, spec)
        if reason:
            return f"{spec.name} field {text!r}: {reason}"
    return None


def _field_error(text: str, spec: _Field) -> str | None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            return (
                f"{item!r} is not a number, a range, a step or '*'" if item else "empty list item"
            )
        start, end, step = match["start"], match["end"], match["step"]
        if step is not None and int(step) < 1:
            return "a step must be 1 or more"
        if start == "*":
            if end is not None:
                return "'*' cannot start a range"
            continue
        low = _value(start, spec)
        if isinstance(low, str):
            return low
        if end is None:
            continue
        high = _value(end, spec)
        if isinstance(high, str):
            return high
        if low > high:
            return f"range {item!r} runs backwards"
    return None


def _value(text: str, spec: _Field) -> int | str:
    """The number a field item stands for, or the reason it is invalid."""
    if text.isdigit():
        number = int(text)
        if spec.low <= number <= spec.high:
            return number
        return f"{number} is outside {spec.low}-{spec.high}"
    upper = text.upper()
    if upper in spec.names:
        return spec.names.index(upper) + spec.names_start
    if spec.names:
        return f"{text!r} is not a {spec.name} name ({', '.join(spec.names)})"
    return f"{text!r} is not a number"

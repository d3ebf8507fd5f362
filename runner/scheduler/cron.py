"""Crontab strings as APScheduler triggers, with crontab's meaning kept.

Two differences between crontab and APScheduler 3.x are fixed here, on purpose by hand:
- weekdays: crontab counts 0 (and 7) as Sunday; `CronTrigger.from_crontab` counts 0 as Monday
  and the library will not change that in 3.x. Every field is expanded to explicit values
  and the weekday is handed over as names (`sun,mon`), which mean the same in both worlds;
- day of month and day of week: when both are restricted (neither starts with `*`), crontab
  runs when EITHER matches ("0 0 13 * 5": every 13th and every Friday); APScheduler requires
  both. Such a schedule becomes an OrTrigger of the two halves.

Syntax was already checked by `runner.playbook.cron` when the playbook was loaded; this module
raises ValueError on anything else. It must never compute run times itself: that stays with
the library's triggers, so the tests can compare them with a plain crontab reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order: 0 = Sunday
_ITEM = re.compile(r"(\*|[0-9a-z]+)(?:-([0-9a-z]+))?(?:/([0-9]+))?\Z")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day of month", 1, 31)
_MONTH = _Field("month", 1, 12, MONTHS, 1)
_WEEKDAY = _Field("day of week", 0, 7, WEEKDAYS, 0)


def expand_field(text: str, field: _Field) -> list[int]:
    """The sorted values a crontab field selects (`*/20` in minutes -> [0, 20, 40])."""
    values: set[int] = set()
    for item in text.lower().split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{field.name} field {text!r}: cannot read {item!r}")
        start, end, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"{field.name} field {text!r}: a step must be 1 or more")
        if start == "*":
            if end is not None:
                raise ValueError(f"{field.name} field {text!r}: '*' cannot start a range")
            low, high = field.low, field.high
        else:
            low = _value(start, field)
            # `a/n` runs from a to the end of the field, as in Vixie cron
            high = _value(end, field) if end is not None else (field.high if step_text else low)
        if low > high:
            raise ValueError(f"{field.name} field {text!r}: range runs backwards")
        values.update(range(low, high + 1, step))
    return sorted(values)


def _value(text: str, field: _Field) -> int:
    if text.isdigit():
        number = int(text)
        if not field.low <= number <= field.high:
            raise ValueError(f"{field.name}: {number} is outside {field.low}-{field.high}")
        return number
    if text in field.names:
        return field.names.index(text) + field.names_start
    raise ValueError(f"{field.name}: {text!r} is neither a number nor a name")


def _numbers(text: str, field: _Field) -> str:
    if text == "*":
        return "*"
    return ",".join(str(v) for v in expand_field(text, field))


def weekday_names(text: str) -> str:
    """A crontab weekday field as APScheduler weekday names: "1-5" -> "mon,tue,wed,thu,fri"."""
    if text == "*":
        return "*"
    days = {v % 7 for v in expand_field(text, _WEEKDAY)}  # 7 is Sunday too
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def crontab_trigger(expression: str, timezone: tzinfo | None = None) -> Any:
    """A trigger that fires when crontab would run `expression` (5 fields), in `timezone`
    (default: the machine's local time zone, as cron does)."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"a cron string has 5 fields, found {len(parts)}: {expression!r}")
    minute, hour, day, month, weekday = parts
    common: dict[str, Any] = {
        "minute": _numbers(minute, _MINUTE),
        "hour": _numbers(hour, _HOUR),
        "month": _numbers(month, _MONTH),
    }
    if timezone is not None:
        common["timezone"] = timezone
    days, weekdays = _numbers(day, _DAY), weekday_names(weekday)
    # Vixie cron decides "restricted" by the field's first character, so `*/2` is not.
    if day.startswith("*") or weekday.startswith("*"):
        return CronTrigger(day=days, day_of_week=weekdays, **common)
    return OrTrigger(
        [
            CronTrigger(day=days, day_of_week="*", **common),
            CronTrigger(day="*", day_of_week=weekdays, **common),
        ]
    )

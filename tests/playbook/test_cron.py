"""The cron checker used by `runner validate` (no scheduler library involved)."""

from __future__ import annotations

import pytest

from runner.playbook.cron import cron_error


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * 1-5",
        "0,15,30,45 * * * *",
        "0 0 1 JAN,jul *",
        "30 2 * * SUN",
        "0 0 * * 0",
        "0 0 * * 7",
        "5-55/10 0-23/2 1-31 1-12 mon-fri",
        "10/15 * * * *",
    ],
)
def test_valid_cron_strings(expression: str) -> None:
    assert cron_error(expression) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * * *", "5 fields, found 4"),
        ("0 * * * * *", "no seconds or years field"),
        ("60 * * * *", "minute field '60': 60 is outside 0-59"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day of month field '0': 0 is outside 1-31"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day of week field '8': 8 is outside 0-7"),
        ("*/0 * * * *", "a step must be 1 or more"),
        ("5-1 * * * *", "runs backwards"),
        ("* * * FOO *", "not a month name"),
        ("* * * * MON-FOO", "not a day of week name"),
        ("1,,2 * * * *", "empty list item"),
        ("*-5 * * * *", "'*' cannot start a range"),
        ("@daily", "shortcuts are not supported"),
        ("a * * * *", "'a' is not a number"),
        ("1-2-3 * * * *", "is not a number, a range, a step or '*'"),
    ],
)
def test_invalid_cron_strings_say_why(expression: str, reason: str) -> None:
    error = cron_error(expression)
    assert error is not None and reason in error

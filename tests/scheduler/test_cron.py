"""Crontab strings keep crontab's meaning once handed to APScheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.scheduler.cron import crontab_trigger, weekday_names

SUNDAY = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)  # a Sunday, noon


def next_fire(expression: str, after: datetime) -> datetime:
    fire = crontab_trigger(expression, UTC).get_next_fire_time(None, after)
    assert fire is not None
    return fire


def test_weekday_one_runs_on_monday_not_tuesday() -> None:
    fire = next_fire("0 9 * * 1", SUNDAY)
    assert fire == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    assert fire.strftime("%A") == "Monday"


@pytest.mark.parametrize("field", ["0", "7", "sun", "SUN"])
def test_weekday_zero_and_seven_are_sunday(field: str) -> None:
    fire = next_fire(f"30 8 * * {field}", datetime(2024, 6, 3, tzinfo=UTC))  # from a Monday
    assert fire == datetime(2024, 6, 9, 8, 30, tzinfo=UTC)
    assert fire.strftime("%A") == "Sunday"


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("0,6", "sun,sat"),
        ("MON-FRI", "mon,tue,wed,thu,fri"),
        ("1-7/3", "sun,mon,thu"),
        ("*", "*"),
    ],
)
def test_weekday_fields_become_names(field: str, names: str) -> None:
    assert weekday_names(field) == names


def test_weekdays_one_to_five_skip_the_weekend() -> None:
    fires, moment = [], datetime(2024, 6, 1, tzinfo=UTC)  # a Saturday
    for _ in range(6):
        moment = next_fire("0 9 * * 1-5", moment + timedelta(minutes=1))
        fires.append(moment.strftime("%a"))
    assert fires == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]


def test_day_of_month_and_weekday_both_set_run_on_either() -> None:
    # crontab: "0 0 13 * 5" runs on every 13th AND on every Friday
    moment, fires = datetime(2024, 9, 1, tzinfo=UTC), []
    for _ in range(4):
        moment = next_fire("0 0 13 * 5", moment + timedelta(minutes=1))
        fires.append(moment.date().isoformat())
    # Fridays 6, 13 (also the 13th), 20, 27 September 2024
    assert fires == ["2024-09-06", "2024-09-13", "2024-09-20", "2024-09-27"]
    assert next_fire("0 0 13 * 5", datetime(2024, 10, 12, tzinfo=UTC)).day == 13  # 13th: Sunday


def test_star_step_day_of_month_combines_with_weekday_by_and() -> None:
    # `*/2` starts with `*`, so crontab requires both: an odd day that is a Monday
    fire = next_fire("0 0 */2 * 1", datetime(2024, 6, 1, tzinfo=UTC))
    assert fire.strftime("%A") == "Monday" and fire.day % 2 == 1


def test_month_names_and_steps() -> None:
    assert next_fire("0 0 1 jan-mar/2 *", datetime(2024, 1, 2, tzinfo=UTC)).month == 3
    assert next_fire("15 */6 * * *", SUNDAY) == datetime(2024, 6, 2, 12, 15, tzinfo=UTC)
    assert next_fire("5/20 * * * *", SUNDAY) == datetime(2024, 6, 2, 12, 5, tzinfo=UTC)


def test_malformed_fields_are_refused() -> None:
    for bad in ("* * * *", "60 * * * *", "* * * * 8", "5-1 * * * *", "* * * * funday"):
        with pytest.raises(ValueError):
            crontab_trigger(bad, UTC)


# --- against a plain reading of crontab(5) ---------------------------------------------------

WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def reference_set(text: str, low: int, high: int, names: list[str], offset: int) -> set[int]:
    """crontab(5): lists of `*`, numbers or names, ranges, and steps."""
    chosen: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            first, last = low, high
        else:
            ends = [names.index(v) + offset if v in names else int(v) for v in base.split("-")]
            first, last = ends[0], ends[-1] if len(ends) > 1 or not step else high
        chosen.update(range(first, last + 1, int(step or 1)))
    return chosen


def reference_runs_on(day: datetime, dom: str, month: str, dow: str) -> bool:
    days = reference_set(dom, 1, 31, [], 0)
    months = reference_set(month, 1, 12, [], 0)
    weekdays = {d % 7 for d in reference_set(dow, 0, 7, WEEKDAY_NAMES, 0)}
    weekday = (day.weekday() + 1) % 7  # Python: Monday 0; crontab: Sunday 0
    in_dom, in_dow = day.day in days, weekday in weekdays
    matched = in_dom and in_dow if dom.startswith("*") or dow.startswith("*") else in_dom or in_dow
    return day.month in months and matched


def field_strategy(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    values = number.map(str)
    if names:
        values = values | st.sampled_from(names)
    ranges = st.tuples(number, number).map(lambda t: f"{min(t)}-{max(t)}")
    stepped = st.tuples(ranges | st.just("*"), st.integers(1, 4)).map(lambda t: f"{t[0]}/{t[1]}")
    item = values | ranges | stepped
    return st.just("*") | st.lists(item, min_size=1, max_size=3).map(",".join)


@settings(max_examples=150, deadline=None)
@given(
    dom=field_strategy(1, 28),
    month=field_strategy(1, 12),
    dow=field_strategy(0, 7, WEEKDAY_NAMES),
    start_day=st.integers(0, 365),
)
def test_next_run_matches_a_plain_crontab_reading(
    dom: str, month: str, dow: str, start_day: int
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=start_day, hours=12)
    expected = None
    day = start.replace(hour=0) + timedelta(days=1)
    for _ in range(3 * 366):
        if reference_runs_on(day, dom, month, dow):
            expected = day.replace(hour=7, minute=30)
            break
        day += timedelta(days=1)
    fire = crontab_trigger(f"30 7 {dom} {month} {dow}", UTC).get_next_fire_time(None, start)
    assert fire == expected

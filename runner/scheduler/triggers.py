"""The trigger of one scheduled playbook: when it fires, with jitter, and what was coalesced.

`PlaybookTrigger` wraps the library's cron or interval trigger to add two things:
- jitter computed from the nominal fire time, so interval schedules do not drift (the
  library's own jitter is added to the previous, already jittered, time);
- a count of the fire times that the scheduler's coalescing swallowed. With coalesce=True,
  APScheduler 3.x collapses several overdue fire times into one run and drops the others
  without a word; it finds them by asking this trigger for the next fire time after an
  overdue one, so each answer that is itself already due is one run that will not happen.

It must never sleep, run jobs or touch the journal: the daemon reads `take_coalesced()`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from runner.playbook.model import Schedule
from runner.scheduler.cron import crontab_trigger
from runner.scheduler.timing import jitter_s

_REMEMBERED = 64  # nominal times kept for de-jittering; only the last one or two are asked for


class PlaybookTrigger(BaseTrigger):  # type: ignore[misc]  # the library is untyped
    """A schedule's fire times, jittered, counting what coalescing drops."""

    def __init__(
        self,
        schedule: Schedule,
        *,
        interval_override_s: float | None = None,
        timezone: tzinfo | None = None,
        jitter: bool = True,
    ) -> None:
        self.schedule = schedule
        self.inner: Any
        if schedule.cron is not None and interval_override_s is None:
            self.inner = crontab_trigger(schedule.cron, timezone)
            self.is_interval = False
        else:
            seconds = interval_override_s or float(schedule.every_seconds or 0)
            if seconds <= 0:
                raise ValueError(f"schedule {schedule} has no positive interval")
            start = datetime.now().astimezone(timezone)
            self.inner = IntervalTrigger(seconds=seconds, start_date=start, timezone=timezone)
            self.is_interval = True
        self.period_s = self._period()
        self.jitter_s = jitter_s(self.period_s) if jitter else 0.0
        self._nominal: dict[datetime, datetime] = {}  # jittered -> nominal
        self._jittered: dict[datetime, datetime] = {}  # nominal -> jittered
        self._coalesced: list[datetime] = []

    def _period(self) -> float:
        if self.is_interval:
            return float(self.inner.interval_length)
        now = datetime.now().astimezone()
        first = self.inner.get_next_fire_time(None, now)
        second = self.inner.get_next_fire_time(first, first) if first else None
        if first is None or second is None:
            return 60.0
        return max(float((second - first).total_seconds()), 1.0)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        previous = previous_fire_time
        if previous is not None:
            previous = self._nominal.get(previous, previous)
        nominal = self.inner.get_next_fire_time(previous, now)
        if nominal is None:
            return None
        fire_time = self._jittered.get(nominal)
        if fire_time is None:
            # One draw per nominal time: the library asks twice for the same next time.
            fire_time = nominal + timedelta(seconds=random.uniform(0, self.jitter_s))
            self._remember(nominal, fire_time)
        if previous_fire_time is not None and fire_time <= now:
            self._coalesced.append(previous_fire_time)
        return fire_time

    def _remember(self, nominal: datetime, fire_time: datetime) -> None:
        self._jittered[nominal] = fire_time
        self._nominal[fire_time] = nominal
        if len(self._jittered) > _REMEMBERED:
            oldest = next(iter(self._jittered))
            self._nominal.pop(self._jittered.pop(oldest), None)

    def take_coalesced(self) -> list[datetime]:
        """The fire times swallowed by coalescing since the last call (then forgotten)."""
        taken, self._coalesced = self._coalesced, []
        return taken

    def first_fire_time(self, now: datetime, *, immediate: bool) -> datetime | None:
        """When a newly added job first runs: interval schedules at once (plus jitter), so a
        restart reconciles without waiting a whole period; cron schedules at their time."""
        if immediate and self.is_interval:
            fire_time = now + timedelta(seconds=random.uniform(0, self.jitter_s))
            self._remember(now, fire_time)  # the interval counts from here, not from the jitter
            return fire_time
        return self.get_next_fire_time(None, now)

    def next_fire_after(self, moment: datetime) -> datetime | None:
        """The first fire time at or after `moment` (for a backed-off retry)."""
        return self.get_next_fire_time(None, moment)

    def __str__(self) -> str:
        return str(self.schedule)

    def __repr__(self) -> str:
        return f"PlaybookTrigger({self.schedule!s}, period_s={self.period_s:g})"

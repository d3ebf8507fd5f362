"""Which playbooks are scheduled, and how: the daemon's table of APScheduler jobs.

`JobTable.apply(changes)` turns what the catalog saw in the files into jobs: a new valid
playbook with a schedule is added, a valid change replaces the running version (rescheduled
when its schedule changed), an invalid change or a name already used by another file keeps
the running version and says why, a playbook without a schedule is reported and skipped, and
a removed file stops being scheduled. Every job gets its options explicitly (max_instances=1,
coalesce=True, misfire grace, jitter): the library's defaults drop late runs silently.

It must never run a playbook: the job function is the daemon's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from runner.playbook.model import Playbook
from runner.scheduler.catalog import Change
from runner.scheduler.logs import log_event
from runner.scheduler.metrics import SchedulerMetrics
from runner.scheduler.timing import DEFAULT_BACKOFF_CAP_S, misfire_grace_s
from runner.scheduler.triggers import PlaybookTrigger

DEFAULT_POLL_S = 3.0


@dataclass(frozen=True, slots=True)
class ScheduleOptions:
    """How the daemon behaves; the defaults are the production ones."""

    state_dir: Path
    poll_s: float = DEFAULT_POLL_S
    # Seconds a run waits for another process's lock on the account. Kept at 0 (a busy
    # account fails the run, which the next run retries) while the reconcile waits for the
    # lock by sleeping, which would stall every other playbook of this process.
    lock_wait_s: float = 0.0
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S
    # For tests only: replaces every schedule by this interval, below the schema's minimum.
    interval_override_s: float | None = None
    misfire_grace_s: int | None = None  # None: half the period, see timing.misfire_grace_s
    jitter: bool = True
    timezone: tzinfo | None = None  # None: the machine's local time, as cron does
    metrics_port: int | None = None
    handle_signals: bool = True


@dataclass(slots=True)
class ScheduledJob:
    """One scheduled playbook; `key` (its file) is the job id, stable across renames."""

    key: str
    playbook: Playbook
    trigger: PlaybookTrigger
    grace_s: int
    failures: int = 0


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone().isoformat(timespec="seconds")


class JobTable:
    """The scheduled playbooks, kept in step with the files and with the library's jobs."""

    def __init__(
        self,
        aps: Any,
        options: ScheduleOptions,
        metrics: SchedulerMetrics,
        run_job: Callable[[str], Awaitable[None]],
    ) -> None:
        self.aps = aps
        self.options = options
        self.metrics = metrics
        self.run_job = run_job
        self.jobs: dict[str, ScheduledJob] = {}
        self.playbooks: dict[str, Playbook] = {}  # the running version of each valid file

    def apply(self, changes: list[Change], *, initial: bool = False) -> None:
        for change in changes:
            key = change.key
            if change.kind == "removed":
                self.metrics.set_invalid(key, False)
                gone = self.playbooks.pop(key, None)
                if self.remove(key) or gone is not None:
                    log_event(
                        logging.WARNING,
                        "playbook_removed",
                        file=key,
                        playbook=gone.name if gone else None,
                        note="no longer scheduled",
                    )
                continue
            playbook = change.playbook
            problems = [p.render() for p in change.error.problems] if change.error else []
            if playbook is not None:
                clash = self._name_clash(key, playbook)
                if clash:
                    problems = [f"{key}: name {playbook.name!r} is already used by {clash}"]
                    playbook = None
            if playbook is None:
                self._invalid(key, problems)
                continue
            self.metrics.set_invalid(key, False)
            self.playbooks[key] = playbook
            self._install(key, playbook, change.sha256, initial)

    def _name_clash(self, key: str, playbook: Playbook) -> str | None:
        for other_key, other in self.playbooks.items():
            if other_key != key and other.name == playbook.name:
                return other_key
        return None

    def _invalid(self, key: str, problems: list[str]) -> None:
        self.metrics.set_invalid(key, True)
        running = self.playbooks.get(key)
        if running is not None:
            note = "keeping the version that is running until the file is fixed"
        else:
            note = "not scheduled until the file is fixed"
        log_event(
            logging.ERROR,
            "playbook_invalid",
            file=key,
            playbook=running.name if running else None,
            problems=problems,
            note=note,
        )

    def _install(self, key: str, playbook: Playbook, sha256: str, initial: bool) -> None:
        existing = self.jobs.get(key)
        if playbook.schedule is None:
            if self.remove(key):
                event, level, why = "playbook_unscheduled", logging.WARNING, "no schedule any more"
            else:
                event, level, why = "playbook_skipped", logging.INFO, "no schedule"
            log_event(level, event, playbook=playbook.name, file=key, reason=why)
            return
        if existing is not None and existing.playbook.schedule == playbook.schedule:
            existing.playbook = playbook
            log_event(
                logging.INFO,
                "playbook_reloaded",
                playbook=playbook.name,
                file=key,
                sha256=sha256[:12],
                note="used from the next run",
            )
            return
        trigger = PlaybookTrigger(
            playbook.schedule,
            interval_override_s=self.options.interval_override_s,
            timezone=self.options.timezone,
            jitter=self.options.jitter,
        )
        grace = self.options.misfire_grace_s or misfire_grace_s(trigger.period_s)
        failures = existing.failures if existing else 0
        self.jobs[key] = ScheduledJob(key, playbook, trigger, grace, failures)
        first = trigger.first_fire_time(datetime.now().astimezone(), immediate=True)
        # A run still going under this id keeps the executor's instance count, so the new
        # version cannot overlap it either.
        self.aps.add_job(
            self.run_job,
            trigger=trigger,
            args=[key],
            id=key,
            name=playbook.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
            next_run_time=first,
            replace_existing=True,
        )
        self.metrics.watch(playbook.name)
        log_event(
            logging.INFO,
            "playbook_scheduled" if existing is None else "playbook_rescheduled",
            playbook=playbook.name,
            file=key,
            schedule=str(playbook.schedule),
            interval_override_s=self.options.interval_override_s,
            next_run=iso(first),
            misfire_grace_s=grace,
            jitter_s=round(trigger.jitter_s, 3),
            sha256=None if initial else sha256[:12],
        )

    def remove(self, key: str) -> bool:
        if self.jobs.pop(key, None) is None:
            return False
        with contextlib.suppress(Exception):  # already gone from the library's store
            self.aps.remove_job(key)
        return True

"""`runner schedule`: a long-running process that reconciles playbooks on their schedules.

Each playbook with a `schedule` is one APScheduler 3.x job (see `jobs`: max_instances=1,
coalesce=True, a misfire grace derived from the period, a little jitter). The library's
defaults drop late runs with a log line only; here every run that does not happen is an event:
late (EVENT_JOB_MISSED), overlap (EVENT_JOB_MAX_INSTANCES) or coalesced (counted by
`PlaybookTrigger`), logged loudly, counted in the metrics and journaled with outcome "missed".

Failed runs back off: after n failures in a row the next attempt waits 2**(n-1) periods
(capped), and one success restores the schedule. Playbook files are re-read when their mtime
and hash change (every few seconds, and at once on SIGHUP); a change is validated before it
replaces the running version, and an invalid one keeps the old version running. SIGTERM and
SIGINT let the run in flight finish, then exit 0; a second signal cancels it (exit 130).

This module decides when runs happen; it must never reconcile by itself (that is the
RunPlaybook it is given), and the scheduler library stays inside this package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from runner.errors import RunnerError
from runner.journal import Journal
from runner.playbook.model import Playbook
from runner.scheduler.catalog import PlaybookCatalog
from runner.scheduler.jobs import JobTable, ScheduledJob, ScheduleOptions, iso
from runner.scheduler.logs import log_event
from runner.scheduler.metrics import MetricsServer, SchedulerMetrics
from runner.scheduler.runs import (
    FAILED_OUTCOMES,
    RunBook,
    RunPlaybook,
    RunReport,
    production_runner,
)
from runner.scheduler.timing import backoff_s

EXIT_FORCED = 130

_MISSED_WHY = {
    "late": "it would have started more than {grace}s late (the process was busy or asleep)",
    "overlap": "the previous run of this playbook was still going",
    "coalesced": "it was overdue along with a later run, and only the latest one ran",
}


@dataclass(slots=True)
class _State:
    stopping: bool = False
    forced: bool = False
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)


class PlaybookScheduler:
    """The daemon: watches playbook files and runs each on its schedule."""

    def __init__(
        self,
        paths: list[Path],
        options: ScheduleOptions,
        *,
        run_one: RunPlaybook | None = None,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        self.options = options
        self.catalog = PlaybookCatalog(paths)
        self.metrics = metrics or SchedulerMetrics()
        self.run_one = run_one or production_runner(
            options.state_dir, lock_wait_s=options.lock_wait_s
        )
        self._table: JobTable | None = None
        self.metrics_port: int | None = None
        self.ready = asyncio.Event()  # set once started (tests and health checks wait on it)
        self._state = _State()
        self._stop = asyncio.Event()
        self._aps: Any = None
        self._journal: Journal | None = None
        self._book: RunBook | None = None
        self._poller: asyncio.Task[None] | None = None
        self._server: MetricsServer | None = None
        self._signals: list[int] = []

    @property
    def jobs(self) -> dict[str, ScheduledJob]:
        return self._table.jobs if self._table is not None else {}

    @property
    def playbooks(self) -> dict[str, Playbook]:
        """The running version of each valid playbook file, scheduled or not."""
        return self._table.playbooks if self._table is not None else {}

    # --- life cycle -------------------------------------------------------------------------

    async def serve(self) -> int:
        """Run until SIGTERM/SIGINT (or `request_stop`); 0 after the runs in flight finished."""
        try:
            await self.start()
            await self._stop.wait()
            return await self._drain()
        finally:
            await self.close()

    async def start(self) -> None:
        """Load the playbooks and start their jobs; RunnerError if none has a schedule."""
        self._journal = Journal.open(self.options.state_dir)
        self._book = RunBook(self.run_one, self.options.state_dir, self._journal)
        self._aps = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        self._aps.add_listener(
            self._on_event,
            EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR,
        )
        self._aps.start()  # must happen inside the running loop
        self._table = JobTable(self._aps, self.options, self.metrics, self._run_job)
        for directory in self.catalog.empty_directories():
            log_event(logging.WARNING, "directory_empty", path=str(directory))
        self._table.apply(self.catalog.scan(), initial=True)
        if not self.jobs:
            raise RunnerError(self._nothing_to_schedule())
        if self.options.handle_signals:
            self._install_signals()
        self._poller = asyncio.create_task(self._poll(), name="runner-schedule-poll")
        if self.options.metrics_port is not None:
            self._server = MetricsServer(self.metrics, self.health, self.options.metrics_port)
            self.metrics_port = await self._server.start()
            log_event(
                logging.INFO, "metrics_listening", url=f"http://127.0.0.1:{self.metrics_port}"
            )
        log_event(
            logging.INFO,
            "scheduler_started",
            playbooks=len(self.jobs),
            state_dir=str(self.options.state_dir),
        )
        self.ready.set()

    def _nothing_to_schedule(self) -> str:
        if self.playbooks:
            names = ", ".join(sorted(p.name for p in self.playbooks.values()))
            return (
                f"none of the playbooks has a schedule ({names}): add `schedule:` to them, or "
                "run them once with `runner schedule --once` or `runner apply`"
            )
        return "no valid playbook to schedule: fix the errors above (see `runner validate`)"

    def request_stop(self, reason: str = "requested") -> None:
        """Stop starting runs and let the ones in flight finish; a second call cancels them."""
        state = self._state
        if state.stopping:
            if state.in_flight and not state.forced:
                state.forced = True
                log_event(
                    logging.WARNING,
                    "stop_forced",
                    reason=reason,
                    cancelled=len(state.in_flight),
                    note="the next run settles any write left without an outcome",
                )
                for task in state.in_flight:
                    task.cancel()
            return
        state.stopping = True
        log_event(logging.INFO, "stopping", reason=reason, in_flight=len(state.in_flight))
        if self._aps is not None and self._aps.running:
            self._aps.pause()
        self._stop.set()

    async def _drain(self) -> int:
        in_flight = set(self._state.in_flight)
        if in_flight:
            log_event(logging.INFO, "waiting_for_runs", in_flight=len(in_flight))
            await asyncio.wait(in_flight)
        return EXIT_FORCED if self._state.forced else 0

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        loop = asyncio.get_running_loop()
        for signum in self._signals:
            loop.remove_signal_handler(signum)
        self._signals = []
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)  # cancels unfinished jobs: only after the drain
        if self._server is not None:
            await self._server.close()
            self._server = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            log_event(logging.INFO, "scheduler_stopped")

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(signum, self.request_stop, name)
            self._signals.append(signum)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        self._signals.append(signal.SIGHUP)

    def _on_sighup(self) -> None:
        log_event(logging.INFO, "reload_requested", reason="SIGHUP")
        self.reload(force=True)

    def health(self) -> dict[str, Any]:
        return {
            "status": "stopping" if self._state.stopping else "ok",
            "scheduled": len(self.jobs),
            "in_flight": len(self._state.in_flight),
        }

    # --- playbook files ---------------------------------------------------------------------

    async def _poll(self) -> None:
        while not self._state.stopping:
            await asyncio.sleep(self.options.poll_s)
            if not self._state.stopping:
                self.reload()

    def reload(self, *, force: bool = False) -> None:
        """Look at the playbook files now and apply what changed."""
        try:
            if self._table is not None:
                self._table.apply(self.catalog.scan(force=force))
        except Exception:
            logging.getLogger("runner.scheduler").exception("reload failed; keeping everything")

    # --- runs -------------------------------------------------------------------------------

    async def _run_job(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None or self._state.stopping or self._book is None:
            return
        task = asyncio.current_task()
        assert task is not None
        self._state.in_flight.add(task)
        try:
            report = await self._book.run(job.playbook, cancelled=lambda: self._state.stopping)
            if report is not None:
                self._after_run(key, job.playbook, report)
        finally:
            self._state.in_flight.discard(task)

    def _after_run(self, key: str, playbook: Playbook, report: RunReport) -> None:
        job = self.jobs.get(key)
        failures = 0
        if job is not None:
            if report.outcome in FAILED_OUTCOMES:
                job.failures += 1
            elif job.failures:
                log_event(
                    logging.INFO,
                    "run_recovered",
                    playbook=playbook.name,
                    after_failures=job.failures,
                )
                job.failures = 0
            failures = job.failures
        self.metrics.record_run(
            playbook.name,
            report.outcome,
            actions=report.actions,
            pending=report.pending,
            halted=report.halted,
            consecutive_failures=failures,
        )
        if job is not None and failures and not self._state.stopping:
            self._back_off(job)

    def _back_off(self, job: ScheduledJob) -> None:
        period = job.trigger.period_s
        delay = backoff_s(job.failures, period, self.options.backoff_cap_s)
        if delay <= period:
            return  # the normal schedule already waits that long
        retry_at = job.trigger.next_fire_after(
            datetime.now().astimezone() + timedelta(seconds=delay)
        )
        if retry_at is None:
            return
        with contextlib.suppress(Exception):  # removed by a reload meanwhile
            self._aps.modify_job(job.key, next_run_time=retry_at)
            log_event(
                logging.WARNING,
                "backing_off",
                playbook=job.playbook.name,
                failures=job.failures,
                delay_s=round(delay, 3),
                next_run=iso(retry_at),
            )

    def _on_event(self, event: Any) -> None:
        """Called by the scheduler library in the loop's thread: report what did not run."""
        job = self.jobs.get(event.job_id)
        if job is None:
            return
        try:
            coalesced = job.trigger.take_coalesced()
            if coalesced:
                self._missed(job, "coalesced", coalesced)
            if event.code == EVENT_JOB_MAX_INSTANCES:
                self._missed(job, "overlap", list(event.scheduled_run_times))
            elif event.code == EVENT_JOB_MISSED:
                self._missed(job, "late", [event.scheduled_run_time])
            elif event.code == EVENT_JOB_ERROR and isinstance(
                event.exception, asyncio.CancelledError
            ):
                # a forced stop: the reconcile journaled its own run as failed
                log_event(logging.WARNING, "run_cancelled", playbook=job.playbook.name)
            elif event.code == EVENT_JOB_ERROR:
                error = f"{type(event.exception).__name__}: {event.exception}"
                log_event(logging.ERROR, "run_crashed", playbook=job.playbook.name, error=error)
                if self._book is not None:
                    self._book.journal_run(job.playbook, "failed", {"stage": "scheduler"}, error)
        except Exception:  # a listener must never break the scheduler's loop
            logging.getLogger("runner.scheduler").exception("could not report a missed run")

    def _missed(self, job: ScheduledJob, reason: str, times: list[datetime]) -> None:
        why = _MISSED_WHY[reason].format(grace=job.grace_s)
        scheduled = [iso(t) for t in times]
        level = logging.WARNING if reason == "overlap" else logging.ERROR
        log_event(
            level,
            "run_missed",
            playbook=job.playbook.name,
            reason=reason,
            count=len(times),
            scheduled_for=scheduled,
            why=why,
        )
        self.metrics.record_missed(job.playbook.name, reason, len(times))
        if self._book is not None:
            self._book.journal_run(
                job.playbook,
                "missed",
                {"reason": reason, "count": len(times), "scheduled_for": scheduled},
                f"missed {len(times)} scheduled run(s): {why}",
            )

"""One scheduled run of one playbook: the production reconcile and the bookkeeping around it.

`reconcile_playbook` is what a scheduled run does for real: open a session on the playbook's
network and account, and reconcile with apply (a scheduled playbook has consented to
auto-approve), journaled with mode "scheduled". The daemon and `--once` reach it through
`RunPlaybook`, a plain async callable, so their own behaviour (overlap, misses, backoff,
reload, signals) can be tested with a controllable stand-in.

`RunBook` wraps any RunPlaybook with what every run needs: the halt marker, one run per
account at a time inside this process, logs, and a journal entry when the run could not even
start (bad credentials, exchange unreachable). It must never retry by itself: the schedule
and the daemon's backoff decide when the next attempt happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import EXIT_ERROR, RunnerError
from runner.halt import apply_halt_marker
from runner.journal import Journal
from runner.journal.git import git_info
from runner.playbook.model import Playbook
from runner.scheduler.logs import log_event

OK_OUTCOMES = frozenset({"in_sync", "applied"})
# Outcomes that count as a failure for the backoff. "blocked" is not one: a guard refusing a
# plan is a decision, not an accident, and a market move may lift it at the next run.
FAILED_OUTCOMES = frozenset({"failed", "partial", "refused"})


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run did, as much as the scheduler needs to log, count and decide."""

    outcome: str
    exit_code: int
    run_id: int | None = None
    account_id: str | None = None
    network: str | None = None
    actions: dict[str, int] = field(default_factory=dict)  # actions done, by type
    pending: int | None = None  # actions still planned after the run (the drift)
    error: str | None = None
    halted: bool = False


RunPlaybook = Callable[[Playbook], Awaitable[RunReport]]
"""Runs one reconcile and journals it; raising means it could not journal the run."""


async def reconcile_playbook(
    playbook: Playbook, state_dir: Path, *, lock_wait_s: float = 0.0
) -> RunReport:
    """The production run: a full reconcile with apply, journaled as "scheduled"."""
    # Imported here so that `runner halt` and the tests of scheduling never load the client.
    from runner.reconcile.run import Reconciler
    from runner.session import open_session

    async with open_session(playbook, state_dir) as session:
        exchange = session.exchange

        def progress(message: str) -> None:
            log_event(logging.DEBUG, "run_progress", playbook=playbook.name, message=message)

        reconciler = Reconciler(exchange, session.journal, state_dir=state_dir, progress=progress)
        try:
            result = await reconciler.run(
                playbook, apply=True, mode="scheduled", lock_wait_s=lock_wait_s
            )
        except Exception as exc:  # the Reconciler has journaled the run as failed
            if not isinstance(exc, RunnerError):
                logging.getLogger("runner.scheduler").exception("reconcile crashed")
            return RunReport(
                outcome="failed",
                exit_code=exc.exit_code if isinstance(exc, RunnerError) else EXIT_ERROR,
                account_id=exchange.account_id,
                network=exchange.network,
                error=str(exc) or type(exc).__name__,
                halted=playbook.halt,
            )
        done = {
            kind: statuses["done"]
            for kind, statuses in result.executed().items()
            if "done" in statuses
        }
        final = result.final_plan or result.plan
        return RunReport(
            outcome=result.outcome,
            exit_code=result.exit_code,
            run_id=result.run_id,
            account_id=exchange.account_id,
            network=exchange.network,
            actions=done,
            pending=len(final.actions),
            error="; ".join([*result.messages, *final.guard_violations]) or None,
            halted=playbook.halt,
        )


def production_runner(state_dir: Path, *, lock_wait_s: float = 0.0) -> RunPlaybook:
    async def run(playbook: Playbook) -> RunReport:
        return await reconcile_playbook(playbook, state_dir, lock_wait_s=lock_wait_s)

    return run


class RunBook:
    """Runs playbooks through a RunPlaybook with halt markers, account locks, logs and the
    journal entries the RunPlaybook could not write itself."""

    def __init__(self, run_one: RunPlaybook, state_dir: Path, journal: Journal) -> None:
        self.run_one = run_one
        self.state_dir = state_dir
        self.journal = journal
        self._account_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._accounts: dict[str, tuple[str, str]] = {}  # playbook -> (account_id, network)

    def account_lock(self, playbook: Playbook) -> asyncio.Lock:
        """One run per account at a time in this process; the journal's AccountLock guards
        against other processes (such as a manual `runner apply`)."""
        key = (playbook.network, playbook.account)
        return self._account_locks.setdefault(key, asyncio.Lock())

    async def run(
        self, playbook: Playbook, *, cancelled: Callable[[], bool] = lambda: False
    ) -> RunReport | None:
        """Run `playbook` once; None when `cancelled()` became true while waiting for the
        account (a stop was requested: a run that has not started is not started)."""
        async with self.account_lock(playbook):
            if cancelled():
                return None
            playbook = apply_halt_marker(playbook, self.state_dir)
            log_event(
                logging.INFO,
                "run_started",
                playbook=playbook.name,
                file=playbook.source,
                halted=playbook.halt or None,
            )
            started = time.monotonic()
            try:
                report = await self.run_one(playbook)
            except RunnerError as exc:
                report = self._failed_to_start(playbook, str(exc), exc.exit_code)
            except Exception as exc:
                logging.getLogger("runner.scheduler").exception("run crashed")
                report = self._failed_to_start(playbook, f"{type(exc).__name__}: {exc}", 1)
        if report.account_id:
            self._accounts[playbook.name] = (report.account_id, report.network or "")
        duration = round(time.monotonic() - started, 3)
        level = logging.INFO if report.outcome in OK_OUTCOMES else logging.ERROR
        if report.outcome == "blocked":
            level = logging.WARNING
        log_event(
            level,
            "run_finished",
            playbook=playbook.name,
            outcome=report.outcome,
            exit_code=report.exit_code,
            run_id=report.run_id,
            duration_s=duration,
            actions=report.actions or None,
            pending=report.pending,
            halted=report.halted or None,
            error=report.error,
        )
        return report

    def _failed_to_start(self, playbook: Playbook, error: str, exit_code: int) -> RunReport:
        run_id = self.journal_run(playbook, "failed", {"stage": "connect"}, error)
        account_id, network = self.account_of(playbook)
        return RunReport(
            outcome="failed",
            exit_code=exit_code,
            run_id=run_id,
            account_id=account_id,
            network=network,
            error=error,
            halted=playbook.halt,
        )

    def account_of(self, playbook: Playbook) -> tuple[str, str]:
        """The account id the last run of `playbook` found; before any, its profile name."""
        return self._accounts.get(playbook.name, (f"profile:{playbook.account}", playbook.network))

    def journal_run(
        self, playbook: Playbook, outcome: str, summary: dict[str, Any], error: str | None
    ) -> int | None:
        """Journal a run the reconcile never saw (missed, or failed before it began)."""
        account_id, network = self.account_of(playbook)
        commit, dirty = git_info(Path(playbook.source)) if playbook.source else (None, None)
        try:
            run_id = self.journal.start_run(
                playbook=playbook.name,
                playbook_path=playbook.source,
                account_id=account_id,
                network=network,
                mode="scheduled",
                git_commit=commit,
                git_dirty=dirty,
            )
            self.journal.finish_run(run_id, outcome=outcome, summary=summary, error=error)
        except RunnerError as exc:
            log_event(logging.ERROR, "journal_failed", playbook=playbook.name, error=str(exc))
            return None
        return run_id

"""`runner schedule --once`: run every given playbook once, then exit with the worst result.

For schedulers that live outside runner (system cron, systemd timers, Kubernetes CronJobs):
every valid playbook is reconciled once with apply, whether or not it has a `schedule`, one
after the other; an invalid playbook counts as an error (exit 1) and does not stop the others.
The exit code is the worst of all, in the order 3 (blocked by a guard) > 1 (error) > 0.
SIGTERM or SIGINT finishes the run in flight and skips the rest.

It must never loop or sleep between runs: repeating is the outer scheduler's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from runner.errors import EXIT_ERROR, RunnerError
from runner.journal import Journal
from runner.scheduler.catalog import PlaybookCatalog
from runner.scheduler.logs import log_event
from runner.scheduler.runs import RunBook, RunPlaybook, production_runner
from runner.scheduler.timing import worst_exit_code


async def run_once(
    paths: list[Path],
    state_dir: Path,
    *,
    run_one: RunPlaybook | None = None,
    lock_wait_s: float = 0.0,
    handle_signals: bool = True,
) -> int:
    """Reconcile each playbook under `paths` once; the worst exit code."""
    catalog = PlaybookCatalog(paths)
    codes: list[int] = []
    playbooks = []
    for directory in catalog.empty_directories():
        log_event(logging.ERROR, "directory_empty", path=str(directory))
        codes.append(EXIT_ERROR)
    names: dict[str, str] = {}
    for change in catalog.scan():
        if change.playbook is None:
            problems = [p.render() for p in change.error.problems] if change.error else []
            log_event(logging.ERROR, "playbook_invalid", file=change.key, problems=problems)
            codes.append(EXIT_ERROR)
        elif change.playbook.name in names:
            log_event(
                logging.ERROR,
                "playbook_invalid",
                file=change.key,
                problems=[
                    f"name {change.playbook.name!r} is already used by "
                    f"{names[change.playbook.name]}"
                ],
            )
            codes.append(EXIT_ERROR)
        else:
            names[change.playbook.name] = change.key
            playbooks.append(change.playbook)
    if not playbooks and not codes:
        raise RunnerError("no playbook files found under the given paths")
    stopping = False

    def stop(name: str) -> None:
        nonlocal stopping
        if not stopping:
            log_event(logging.INFO, "stopping", reason=name, note="finishing the run in flight")
        stopping = True

    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if handle_signals:
        for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(signum, stop, name)
            installed.append(int(signum))
    run_one = run_one or production_runner(state_dir, lock_wait_s=lock_wait_s)
    try:
        with Journal.open(state_dir) as journal:
            book = RunBook(run_one, state_dir, journal)
            for playbook in playbooks:
                if stopping:
                    log_event(
                        logging.WARNING, "run_skipped", playbook=playbook.name, reason="stopping"
                    )
                    continue
                report = await book.run(playbook)
                if report is not None:
                    codes.append(report.exit_code)
    finally:
        for number in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(number)
    code = worst_exit_code(codes)
    log_event(logging.INFO, "once_finished", runs=len(playbooks), exit_code=code)
    return code

"""The daemon's scheduling behaviour, with a controllable run (see helpers.FakeRun).

Fast schedules come from ScheduleOptions.interval_override_s: the playbooks say `every: 5s`
(the schema's minimum), the tests run them every few tenths of a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runner.cli.main import cli
from runner.errors import RunnerError
from runner.halt import halt_playbook, resume_playbook
from runner.journal import Journal
from runner.scheduler.daemon import PlaybookScheduler
from runner.scheduler.jobs import ScheduleOptions

from .helpers import EventLines, FakeRun, playbook_text, wait_until, write_playbook


def options(state_dir: Path, **kw: Any) -> ScheduleOptions:
    base = ScheduleOptions(
        state_dir=state_dir,
        poll_s=0.1,
        interval_override_s=0.3,
        jitter=False,
        handle_signals=False,
    )
    return dataclasses.replace(base, **kw)


@asynccontextmanager
async def running(
    paths: list[Path], opts: ScheduleOptions, run: FakeRun
) -> AsyncIterator[PlaybookScheduler]:
    scheduler = PlaybookScheduler(paths, opts, run_one=run)
    serving = asyncio.create_task(scheduler.serve())
    ready = asyncio.create_task(scheduler.ready.wait())
    await asyncio.wait({serving, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        ready.cancel()
        serving.result()  # raises what start() raised
    try:
        yield scheduler
    finally:
        scheduler.request_stop("test")
        assert await asyncio.wait_for(serving, 10) == 0


def missed_runs(state_dir: Path, reason: str | None = None) -> list[Any]:
    with Journal.open(state_dir) as journal:
        runs = [r for r in journal.runs(limit=500) if r.outcome == "missed"]
    return [r for r in runs if reason is None or (r.summary or {}).get("reason") == reason]


async def test_interval_playbook_runs_repeatedly_and_never_overlaps(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "fast")
    run = FakeRun(duration=0.05)
    async with running([path.parent], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 4, timeout=3)
    assert run.most_active == 1
    starts = [c.started for c in run.calls]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(0.2 < gap < 0.6 for gap in gaps), gaps
    assert all(c.playbook.name == "fast" for c in run.calls)
    assert len(events.of("run_finished")) >= 4


async def test_run_slower_than_its_interval_is_reported_and_journaled_as_overlap(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "slow")
    run = FakeRun(duration=1.0)
    async with running([path], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 1, timeout=3)
        await asyncio.sleep(0.1)
    assert run.most_active == 1
    overlaps = events.of("run_missed")
    assert overlaps and {e["reason"] for e in overlaps} == {"overlap"}
    assert all(e["playbook"] == "slow" for e in overlaps)
    journaled = missed_runs(state_dir, "overlap")
    assert len(journaled) == len(overlaps) >= 2
    assert journaled[0].mode == "scheduled" and journaled[0].playbook == "slow"
    assert "still going" in (journaled[0].error or "")
    # `runner history --json` lists them with the scheduled runs
    result = CliRunner().invoke(cli, ["history", "--json", "--state-dir", str(state_dir)])
    listed = json.loads(result.output)["runs"]
    assert {(r["mode"], r["outcome"]) for r in listed} >= {("scheduled", "missed")}


async def test_overdue_runs_after_a_stall_are_coalesced_into_one_and_reported(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "stalled")
    run = FakeRun()
    async with running([path], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 1)
        before = len(run.calls)
        time.sleep(1.25)  # the event loop is blocked: about four fire times pass
        await asyncio.sleep(0.2)
        after = len(run.calls)
    assert after - before == 1  # one run for all the overdue ones
    coalesced = [e for e in events.of("run_missed") if e["reason"] == "coalesced"]
    assert coalesced and coalesced[0]["count"] >= 2
    journaled = missed_runs(state_dir, "coalesced")
    assert journaled and journaled[0].summary["count"] == coalesced[0]["count"]


async def test_a_run_later_than_its_grace_is_reported_missed(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "late")
    run = FakeRun()
    async with running([path], options(state_dir, interval_override_s=1.5), run):
        await wait_until(lambda: len(run.finished) >= 1)
        time.sleep(2.8)  # the next fire time (1.5 s) passes by more than the 1 s grace
        await asyncio.sleep(0.1)
        assert len(run.calls) == 1
    late = [e for e in events.of("run_missed") if e["reason"] == "late"]
    assert len(late) == 1 and late[0]["level"] == "error"
    assert missed_runs(state_dir, "late")


async def test_failures_back_off_exponentially_and_one_success_resets(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "flaky")
    run = FakeRun(outcomes=["failed", "failed", "failed", "in_sync", "in_sync"])
    async with running([path], options(state_dir, interval_override_s=0.2), run):
        await wait_until(lambda: len(run.finished) >= 5, timeout=5)
    starts = [c.started for c in run.calls[:5]]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # after 1 failure: the period (0.2); after 2: 0.4; after 3: 0.8; after a success: 0.2
    assert gaps[0] < 0.35 and 0.38 < gaps[1] < 0.75 and 0.75 < gaps[2] < 1.3, gaps
    assert gaps[3] < 0.35, gaps
    backing = events.of("backing_off")
    assert [e["failures"] for e in backing] == [2, 3]
    assert events.of("run_recovered")[0]["after_failures"] == 3


async def test_backoff_is_capped(tmp_path: Path, state_dir: Path) -> None:
    path = write_playbook(tmp_path / "pb", "down")
    run = FakeRun(default="failed")
    async with running([path], options(state_dir, interval_override_s=0.2, backoff_cap_s=0.4), run):
        await wait_until(lambda: len(run.finished) >= 5, timeout=4)
    starts = [c.started for c in run.calls[:5]]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert max(gaps) < 0.65, gaps


async def test_valid_change_is_used_from_the_next_run(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "edited", leverage=3)
    run = FakeRun()
    async with running([path], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 1)
        path.write_text(playbook_text("edited", leverage=4))
        await wait_until(lambda: run.calls[-1].playbook.symbols[0].leverage == 4, timeout=3)
    assert events.of("playbook_reloaded")


async def test_invalid_change_keeps_the_running_version_and_says_where(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "edited", leverage=3)
    run = FakeRun()
    async with running([path], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 1)
        path.write_text(playbook_text("edited", leverage=3).replace("side: BUY", "side: UP"))
        await wait_until(lambda: bool(events.of("playbook_invalid")), timeout=3)
        count = len(run.calls)
        await wait_until(lambda: len(run.calls) >= count + 2, timeout=3)
        # fixed again: picked up
        path.write_text(playbook_text("edited", leverage=2))
        await wait_until(lambda: run.calls[-1].playbook.symbols[0].leverage == 2, timeout=3)
    invalid = events.of("playbook_invalid")[0]
    assert invalid["level"] == "error" and invalid["playbook"] == "edited"
    assert "keeping the version that is running" in invalid["note"]
    assert any(f"{path}:14:15: " in p and "side" in p for p in invalid["problems"])
    assert all(c.playbook.symbols[0].leverage == 3 for c in run.calls[: count + 2])


async def test_schedule_change_reschedules_and_removal_unschedules(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    folder = tmp_path / "pb"
    keep = write_playbook(folder, "keeper")
    gone = write_playbook(folder, "goner")
    run = FakeRun()
    async with running([folder], options(state_dir), run) as scheduler:
        await wait_until(lambda: {c.playbook.name for c in run.calls} == {"keeper", "goner"})
        keep.write_text(playbook_text("keeper", schedule='"*/5 * * * *"'))
        gone.unlink()
        await wait_until(lambda: bool(events.of("playbook_removed")), timeout=3)
        await wait_until(lambda: bool(events.of("playbook_rescheduled")), timeout=3)
        assert set(scheduler.jobs) == {str(keep)}
    assert events.of("playbook_removed")[0]["playbook"] == "goner"


async def test_playbooks_without_schedule_are_skipped_and_reported(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    folder = tmp_path / "pb"
    write_playbook(folder, "timed")
    write_playbook(folder, "manual", schedule=None)
    run = FakeRun()
    async with running([folder], options(state_dir), run) as scheduler:
        await wait_until(lambda: len(run.finished) >= 1)
        assert [j.playbook.name for j in scheduler.jobs.values()] == ["timed"]
    skipped = events.of("playbook_skipped")
    assert [(e["playbook"], e["reason"]) for e in skipped] == [("manual", "no schedule")]
    assert {c.playbook.name for c in run.calls} == {"timed"}


async def test_no_scheduled_playbook_at_all_is_an_error(tmp_path: Path, state_dir: Path) -> None:
    path = write_playbook(tmp_path / "pb", "manual", schedule=None)
    with pytest.raises(RunnerError, match="none of the playbooks has a schedule"):
        async with running([path], options(state_dir), FakeRun()):
            pass


async def test_halt_marker_makes_the_next_runs_halted_and_resume_undoes_it(
    tmp_path: Path, state_dir: Path
) -> None:
    path = write_playbook(tmp_path / "pb", "brake")
    run = FakeRun()
    async with running([path], options(state_dir), run):
        await wait_until(lambda: len(run.finished) >= 1)
        assert run.calls[-1].playbook.halt is False
        halt_playbook(state_dir, "brake")
        await wait_until(lambda: run.calls[-1].playbook.halt is True)
        resume_playbook(state_dir, "brake")
        await wait_until(lambda: run.calls[-1].playbook.halt is False)


async def test_sigterm_lets_the_run_in_flight_finish_then_serve_returns_0(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "graceful")
    run = FakeRun(duration=0.8)
    scheduler = PlaybookScheduler([path], options(state_dir, handle_signals=True), run_one=run)
    serving = asyncio.create_task(scheduler.serve())
    await asyncio.wait_for(run.started.wait(), 5)
    os.kill(os.getpid(), signal.SIGTERM)
    code = await asyncio.wait_for(serving, 5)
    assert code == 0
    assert len(run.calls) == 1 and run.calls[0].ended  # finished, not cancelled
    assert events.of("stopping")[0]["reason"] == "SIGTERM"
    finished = events.of("run_finished")
    assert finished and finished[0]["outcome"] == "in_sync"
    # the handlers are gone: the default SIGTERM disposition is back for the test process
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_sighup_reloads_at_once(tmp_path: Path, state_dir: Path, events: EventLines) -> None:
    path = write_playbook(tmp_path / "pb", "hup", leverage=3)
    run = FakeRun()
    opts = options(state_dir, handle_signals=True, poll_s=60)
    async with running([path], opts, run):
        await wait_until(lambda: len(run.finished) >= 1)
        path.write_text(playbook_text("hup", leverage=4))
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_until(lambda: bool(events.of("playbook_reloaded")), timeout=1)
        await wait_until(lambda: run.calls[-1].playbook.symbols[0].leverage == 4, timeout=2)
    assert events.of("reload_requested")[0]["reason"] == "SIGHUP"


async def test_a_second_stop_request_cancels_the_run_in_flight(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "stuck")
    run = FakeRun(duration=30)
    scheduler = PlaybookScheduler([path], options(state_dir), run_one=run)
    serving = asyncio.create_task(scheduler.serve())
    await asyncio.wait_for(run.started.wait(), 5)
    scheduler.request_stop("first")
    await asyncio.sleep(0.1)
    assert not serving.done()  # still waiting for the run
    scheduler.request_stop("second")
    assert await asyncio.wait_for(serving, 5) == 130
    assert events.of("stop_forced")[0]["cancelled"] == 1
    assert events.of("run_cancelled")

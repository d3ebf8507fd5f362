"""Scheduled reconciles for real, against the built-in simulator (state under tmp_path).

`runner schedule --once` and the daemon run the production reconcile (open a session, apply,
journal with mode "scheduled"); the SIGTERM test runs the `runner` command in a subprocess
against a simulator slowed down by its own latency fault, so the signal lands mid-run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from runner.halt import halt_playbook
from runner.journal import Journal
from runner.scheduler.daemon import PlaybookScheduler
from runner.scheduler.jobs import ScheduleOptions
from runner.scheduler.once import run_once
from runner.sim.embedded import open_embedded

from .helpers import EventLines, wait_until, write_playbook

RUNNER = [sys.executable, "-c", "from runner.cli.main import main; main()"]


def journal_runs(state_dir: Path) -> list[Any]:
    with Journal.open(state_dir) as journal:
        return list(reversed(journal.runs(limit=100)))  # oldest first


async def test_once_reconciles_every_playbook_and_journals_scheduled_runs(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    folder = tmp_path / "pb"
    write_playbook(folder, "alpha", price=2700)
    write_playbook(folder, "beta", price=2600, schedule=None)  # --once runs it all the same
    assert await run_once([folder], state_dir, handle_signals=False) == 0
    runs = journal_runs(state_dir)
    assert [(r.playbook, r.mode, r.outcome) for r in runs] == [
        ("alpha", "scheduled", "applied"),
        ("beta", "scheduled", "applied"),
    ]
    assert runs[0].actions.get("place_order") == 1
    assert await run_once([folder], state_dir, handle_signals=False) == 0
    assert [r.outcome for r in journal_runs(state_dir)[2:]] == ["in_sync", "in_sync"]


async def test_once_exit_code_is_the_worst_of_the_runs(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    write_playbook(good, "fine")
    # its 135 USDC entry would exceed its own position guard: every plan is blocked
    write_playbook(bad, "greedy", max_position_notional=100)
    (tmp_path / "broken.yaml").write_text("version: 1\nname: broken\n")
    assert await run_once([good], state_dir, handle_signals=False) == 0
    assert await run_once([good, tmp_path / "broken.yaml"], state_dir, handle_signals=False) == 1
    assert (
        await run_once([good, bad, tmp_path / "broken.yaml"], state_dir, handle_signals=False) == 3
    )
    blocked = [r for r in journal_runs(state_dir) if r.playbook == "greedy"]
    assert blocked and blocked[0].outcome == "blocked"
    assert events.of("playbook_invalid")[0]["file"].endswith("broken.yaml")


def test_once_command_exits_with_the_worst_code(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    write_playbook(folder, "fine")
    write_playbook(folder, "greedy", max_position_notional=100)
    state = tmp_path / "state"
    done = subprocess.run(
        [
            *RUNNER,
            "schedule",
            "--once",
            str(folder),
            "--state-dir",
            str(state),
            "--log-format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    finished = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    outcomes = {e["playbook"]: e["outcome"] for e in finished if e["event"] == "run_finished"}
    assert outcomes == {"fine": "applied", "greedy": "blocked"}
    assert all({"ts", "level", "event"} <= set(e) for e in finished)
    history = subprocess.run(
        [*RUNNER, "history", "--json", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = json.loads(history.stdout)["runs"]
    assert sorted((r["playbook"], r["mode"], r["outcome"]) for r in listed) == [
        ("fine", "scheduled", "applied"),
        ("greedy", "scheduled", "blocked"),
    ]


async def test_daemon_reconciles_on_schedule_honours_halt_and_serves_metrics(
    tmp_path: Path, state_dir: Path, events: EventLines
) -> None:
    path = write_playbook(tmp_path / "pb", "steady")
    opts = ScheduleOptions(
        state_dir=state_dir,
        poll_s=0.2,
        interval_override_s=0.5,
        jitter=False,
        handle_signals=False,
        metrics_port=0,
    )
    scheduler = PlaybookScheduler([path], opts)
    serving = asyncio.create_task(scheduler.serve())
    await asyncio.wait_for(scheduler.ready.wait(), 10)
    await wait_until(lambda: len(events.of("run_finished")) >= 2, timeout=10)
    halt_playbook(state_dir, "steady")
    await wait_until(lambda: events.of("run_finished")[-1].get("halted") is True, timeout=10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{scheduler.metrics_port}") as http:
        health = await http.get("/healthz")
        metrics = (await http.get("/metrics")).text
    scheduler.request_stop("test")
    assert await asyncio.wait_for(serving, 10) == 0

    runs = [r for r in journal_runs(state_dir) if r.outcome != "missed"]
    assert all(r.mode == "scheduled" for r in runs)
    assert [r.outcome for r in runs[:2]] == ["applied", "in_sync"]
    halted = [e for e in events.of("run_finished") if e.get("halted")]
    assert halted[0]["outcome"] == "applied" and halted[0]["actions"] == {"cancel_order": 1}
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert 'runner_scheduled_runs_total{outcome="applied",playbook="steady"}' in metrics
    assert 'runner_actions_total{playbook="steady",type="place_order"} 1.0' in metrics
    assert 'runner_drift_pending_actions{playbook="steady"} 0.0' in metrics
    assert 'runner_seconds_since_last_success{playbook="steady"}' in metrics


async def _slow_down(state_dir: Path, latency_ms: int) -> None:
    """Make every /v1 request of the simulator in `state_dir` take `latency_ms` (persisted)."""
    sim = open_embedded(state_dir)  # as runner.settings opens it: files in state_dir/sim/
    async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as client:
        response = await client.post(
            "/sim/faults",
            content=json.dumps({"latency_ms": latency_ms}),
            headers={"Authorization": f"Bearer {sim.admin_token}"},
        )
        assert response.status_code == 200, response.text


async def test_sigterm_mid_run_exits_0_after_the_run_completes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = write_playbook(tmp_path / "pb", "patient")
    await _slow_down(state, latency_ms=120)
    process = subprocess.Popen(
        [*RUNNER, "schedule", str(path), "--state-dir", str(state), "--log-format", "json"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    seen: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 20
        while not any(e["event"] == "run_started" for e in seen):
            assert time.monotonic() < deadline, seen
            line = await asyncio.to_thread(process.stderr.readline)
            assert line, f"runner exited early: {seen}"
            seen.append(json.loads(line))
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        # keep reading through the same buffered reader (communicate() would skip its buffer)
        rest = await asyncio.to_thread(process.stderr.read)
        await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
    seen += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    order = [e["event"] for e in seen]
    assert process.returncode == 0, seen
    assert "stopping" in order, seen
    assert order.index("stopping") < order.index("run_finished")
    finished = seen[order.index("run_finished")]
    assert finished["outcome"] == "applied" and finished["duration_s"] > 0.5
    runs = journal_runs(state)
    assert [(r.mode, r.outcome) for r in runs] == [("scheduled", "applied")]
    assert runs[0].finished_at is not None

"""The journal and the lock shared by several real processes at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.journal import AccountLock, Journal, LockBusy

from .helpers import python_child

HOLD_UNTIL_TOLD = """
    import sys
    from runner.journal import AccountLock

    lock = AccountLock(sys.argv[1], "acct-1", owner="child apply")
    lock.acquire()
    print("held", flush=True)
    sys.stdin.readline()
    print("released" if lock.release() else "not held", flush=True)
"""


def test_a_lock_held_by_another_process_is_busy_until_it_releases(state_dir: Path) -> None:
    child = python_child(HOLD_UNTIL_TOLD, state_dir, stdin=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "held"

        with pytest.raises(LockBusy, match=f"pid {child.pid} on host .* \\(child apply\\)"):
            AccountLock(state_dir, "acct-1").acquire()

        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "released"
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.communicate()
    with AccountLock(state_dir, "acct-1") as mine:
        assert mine.took_over is None


DIE_HOLDING = """
    import os, sys
    from runner.journal import AccountLock

    AccountLock(sys.argv[1], "acct-1", ttl_s=3600).acquire()
    os._exit(0)
"""


def test_a_lock_left_by_a_killed_process_is_taken_over(state_dir: Path) -> None:
    child = python_child(DIE_HOLDING, state_dir)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    with AccountLock(state_dir, "acct-1") as mine:
        assert mine.took_over is not None
        assert f"held by pid {child.pid}" in mine.took_over


WRITER = """
    import sys
    from pathlib import Path
    from runner.journal import Journal

    with Journal.open(Path(sys.argv[1])) as journal:
        for n in range(int(sys.argv[2])):
            run_id = journal.start_run(
                playbook=f"writer-{sys.argv[3]}", playbook_path="p.yaml", account_id="acct-1",
                network="sim", mode="scheduled", git_commit=None, git_dirty=None,
            )
            for symbol in ("PERP_ETH_USDC", "PERP_BTC_USDC"):
                intent = journal.record_intent(
                    run_id, action_type="place_order", symbol=symbol, margin_mode="CROSS",
                    client_order_id=f"w{sys.argv[3]}-{n}-{symbol}", payload={"n": n},
                )
                journal.record_outcome(intent, status="done")
            journal.finish_run(run_id, outcome="applied", summary={"n": n})
"""


def test_concurrent_writers_in_several_processes_lose_no_rows(state_dir: Path) -> None:
    writers, runs_each = 4, 25
    # All open a journal that does not exist yet: they also race to create and migrate it.
    children = [python_child(WRITER, state_dir, runs_each, w) for w in range(writers)]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr

    with Journal.open(state_dir) as journal:
        runs = journal.runs(limit=1_000)
        assert len(runs) == writers * runs_each
        assert len({r.run_id for r in runs}) == len(runs)
        assert all(r.outcome == "applied" and r.actions == {"place_order": 2} for r in runs)
        for w in range(writers):
            assert len(journal.runs(limit=1_000, playbook=f"writer-{w}")) == runs_each
        assert journal.unresolved_intents("acct-1") == []


COUNT_UNDER_LOCK = """
    import sys, time
    from pathlib import Path
    from runner.journal import AccountLock

    state, counter = Path(sys.argv[1]), Path(sys.argv[2])
    for _ in range(int(sys.argv[3])):
        with AccountLock(state, "acct-1", wait_s=60):
            value = int(counter.read_text())
            time.sleep(0.005)  # widen the window a missing lock would let others into
            counter.write_text(str(value + 1))
"""


def test_the_lock_lets_only_one_process_at_a_time_into_the_critical_section(
    state_dir: Path, tmp_path: Path
) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    Journal.open(state_dir).close()
    processes, rounds = 3, 10
    children = [
        python_child(COUNT_UNDER_LOCK, state_dir, counter, rounds) for _ in range(processes)
    ]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    assert int(counter.read_text()) == processes * rounds

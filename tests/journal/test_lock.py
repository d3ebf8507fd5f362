from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runner.journal import (
    AccountLock,
    Journal,
    JournalError,
    LockBusy,
    LockLost,
    break_lock,
    lock_holder,
)

from .helpers import FakeClock

TTL_S = 60.0


def lock(journal: Journal, clock: FakeClock, account: str = "acct-1", **kw: object) -> AccountLock:
    return AccountLock(journal, account, ttl_s=TTL_S, clock=clock, **kw)  # type: ignore[arg-type]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid no longer exists
    return child.pid


def test_a_held_lock_refuses_a_second_holder_and_says_who_holds_it(
    journal: Journal, clock: FakeClock
) -> None:
    first = lock(journal, clock, owner="runner apply eth-swing")
    assert first.acquire() is None
    assert first.held

    with pytest.raises(LockBusy) as busy:
        lock(journal, clock).acquire()
    message = str(busy.value)
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
    assert "runner apply eth-swing" in message
    assert "since 2025-06-15T15:06:40.000Z" in message
    assert "DELETE FROM locks WHERE account_id = 'acct-1'" in message
    assert str(journal.path) in message


def test_locks_of_different_accounts_are_independent(journal: Journal, clock: FakeClock) -> None:
    with lock(journal, clock, "acct-1"), lock(journal, clock, "acct-2") as second:
        assert second.held


def test_after_release_another_holder_may_acquire(journal: Journal, clock: FakeClock) -> None:
    first = lock(journal, clock)
    first.acquire()
    assert first.release()
    assert not first.held
    assert lock_holder(journal, "acct-1") is None
    second = lock(journal, clock)
    assert second.acquire() is None


def test_release_by_a_non_owner_does_nothing(journal: Journal, clock: FakeClock) -> None:
    holder = lock(journal, clock)
    holder.acquire()
    bystander = lock(journal, clock)
    assert bystander.release() is False
    with pytest.raises(LockBusy):
        bystander.acquire()
    assert bystander.release() is False
    held = lock_holder(journal, "acct-1")
    assert held is not None
    assert held.pid == os.getpid()
    with pytest.raises(LockBusy):
        lock(journal, clock).acquire()


def test_an_expired_lock_is_taken_over_with_a_warning_and_its_old_owner_loses_it(
    journal: Journal, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    old = lock(journal, clock)
    old.acquire()
    clock.advance(TTL_S + 1)

    new = lock(journal, clock)
    with caplog.at_level(logging.WARNING, logger="runner.journal.lock"):
        warning = new.acquire()
    assert warning is not None
    assert warning.startswith(
        f"took over a stale lock on account 'acct-1' held by pid {os.getpid()} "
        f"on host {socket.gethostname()} since 2025-06-15T15:06:40.000Z"
    )
    assert "expired at 2025-06-15T15:07:40.000Z" in warning
    assert new.took_over == warning
    assert warning in caplog.text

    assert old.held  # it cannot know yet
    assert old.release() is False  # and must not remove the new owner's row
    with pytest.raises(LockBusy):
        lock(journal, clock).acquire()
    assert new.release()


def test_refresh_after_a_takeover_reports_the_lock_lost(journal: Journal, clock: FakeClock) -> None:
    old = lock(journal, clock)
    old.acquire()
    clock.advance(TTL_S + 1)
    lock(journal, clock).acquire()
    with pytest.raises(LockLost, match="took it over"):
        old.refresh()
    assert not old.held


def test_a_lock_whose_process_died_on_this_host_is_taken_over_at_once(
    journal: Journal, clock: FakeClock
) -> None:
    pid = dead_pid()
    with journal._write() as conn:
        conn.execute(
            "INSERT INTO locks VALUES ('acct-1', 'crashed apply', ?, ?, 'then', 0, ?, 'tok')",
            (pid, socket.gethostname(), int(clock() * 1000) + 3_600_000),
        )
    warning = lock(journal, clock).acquire()
    assert warning is not None
    assert f"held by pid {pid} on host {socket.gethostname()}" in warning
    assert "its process no longer exists" in warning


def test_a_live_lock_on_another_host_is_respected_until_it_expires(
    journal: Journal, clock: FakeClock
) -> None:
    with journal._write() as conn:
        conn.execute(
            "INSERT INTO locks VALUES ('acct-1', NULL, ?, 'elsewhere.example', 'then', 0, ?, 't')",
            (dead_pid(), int(clock() * 1000) + 10_000),
        )
    with pytest.raises(LockBusy, match=r"on host elsewhere\.example"):
        lock(journal, clock).acquire()
    clock.advance(10)
    assert lock(journal, clock).acquire() is not None


def test_refresh_pushes_the_expiry_forward(journal: Journal, clock: FakeClock) -> None:
    holder = lock(journal, clock)
    holder.acquire()
    for _ in range(3):
        clock.advance(TTL_S * 0.8)
        holder.refresh()
    with pytest.raises(LockBusy):
        lock(journal, clock).acquire()
    clock.advance(TTL_S + 0.001)
    assert lock(journal, clock).acquire() is not None


def test_refreshing_or_reacquiring_needs_the_right_state(
    journal: Journal, clock: FakeClock
) -> None:
    holder = lock(journal, clock)
    with pytest.raises(JournalError, match="not held"):
        holder.refresh()
    holder.acquire()
    with pytest.raises(JournalError, match="already held"):
        holder.acquire()


def test_acquire_waits_for_a_release_within_wait_s(journal: Journal, clock: FakeClock) -> None:
    holder = lock(journal, clock)
    holder.acquire()
    timer = threading.Timer(0.2, holder.release)
    timer.start()
    try:
        assert lock(journal, clock).acquire(wait_s=10) is None
    finally:
        timer.join()


def test_acquire_gives_up_after_wait_s(journal: Journal, clock: FakeClock) -> None:
    lock(journal, clock).acquire()
    with pytest.raises(LockBusy, match=r"waited 0\.2 s"):
        lock(journal, clock, wait_s=0.2).acquire()


def test_the_context_manager_releases_on_error(journal: Journal, clock: FakeClock) -> None:
    held = lock(journal, clock)

    def failing_apply() -> None:
        with held:
            raise RuntimeError("apply failed")

    with pytest.raises(RuntimeError):
        failing_apply()
    assert not held.held
    assert lock_holder(journal, "acct-1") is None


async def test_the_async_context_manager_holds_and_releases(
    journal: Journal, clock: FakeClock
) -> None:
    async with lock(journal, clock) as held:
        assert held.held
        with pytest.raises(LockBusy):
            await lock(journal, clock).acquire_async()
    assert lock_holder(journal, "acct-1") is None


def test_a_lock_given_a_state_dir_opens_and_closes_its_own_journal(state_dir: Path) -> None:
    with AccountLock(state_dir, "acct-1", owner="scheduler") as held:
        assert held.held
        with Journal.open(state_dir) as journal:
            holder = lock_holder(journal, "acct-1")
            assert holder is not None
            assert holder.owner == "scheduler"
    with Journal.open(state_dir) as journal:
        assert lock_holder(journal, "acct-1") is None


def test_break_lock_removes_any_holder(journal: Journal, clock: FakeClock) -> None:
    holder = lock(journal, clock, owner="stuck")
    holder.acquire()
    broken = break_lock(journal, "acct-1")
    assert broken is not None
    assert broken.owner == "stuck"
    assert break_lock(journal, "acct-1") is None
    with pytest.raises(LockLost):
        holder.refresh()

"""A long apply keeps its account lock alive, and stops when the lock is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runner.journal import AccountLock, Journal
from runner.journal.errors import LockBusy, LockLost
from runner.reconcile.run import _holding


async def test_the_lock_outlives_its_ttl_while_work_runs(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        lock = AccountLock(journal, "0xacc", ttl_s=0.3)
        lock.acquire()
        seen: list[str] = []

        async def long_work() -> None:
            await asyncio.sleep(0.9)  # three TTLs
            with pytest.raises(LockBusy):
                AccountLock(journal, "0xacc", ttl_s=0.3).acquire()
            seen.append("still ours")

        await _holding(lock, long_work())
        assert seen == ["still ours"]
        lock.release()


async def test_work_stops_when_the_lock_is_taken_over(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        lock = AccountLock(journal, "0xacc", ttl_s=0.3)
        lock.acquire()
        finished: list[bool] = []

        async def long_work() -> None:
            await asyncio.sleep(5)
            finished.append(True)

        # another process breaks the lock and takes it
        from runner.journal.lock import break_lock

        async def thief() -> None:
            await asyncio.sleep(0.05)
            break_lock(journal, "0xacc")
            AccountLock(journal, "0xacc", ttl_s=30).acquire()

        thief_task = asyncio.create_task(thief())
        with pytest.raises(LockLost):
            await _holding(lock, long_work())
        await thief_task
        assert finished == []

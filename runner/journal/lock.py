"""The per-account lock: one reconcile writes to an account at a time, across processes.

Shared by `runner apply` and the scheduler. The lock is a row of the journal's `locks` table
(account, owner, pid, host, acquired and expiry times, a random token), taken atomically under
`BEGIN IMMEDIATE`. A holder that lives longer than its TTL calls `refresh()` (a heartbeat); a
lock whose expiry has passed, or whose holder was a process on this host that no longer
exists, is stale and is taken over with a warning. A pid is only checked on its own host: the
lock cannot tell whether a process elsewhere is alive, so there it waits for the expiry.

Expiry is wall-clock time from an injectable `clock`; waiting uses the monotonic clock. This
module must never release or refresh a lock it does not hold: both match on the token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from runner.journal import db
from runner.journal.errors import JournalError, LockBusy, LockLost
from runner.journal.records import LockHolder
from runner.journal.store import JOURNAL_FILENAME, Journal

log = logging.getLogger("runner.journal.lock")

DEFAULT_TTL_S = 300.0
_POLL_S = 0.05
_POLL_MAX_S = 1.0


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a reused pid counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


def lock_holder(journal: Journal, account_id: str) -> LockHolder | None:
    """Who holds the account's lock, if anyone (an expired row is still reported)."""
    with journal._read() as conn:
        row = conn.execute(
            "SELECT account_id, owner, pid, host, acquired_at, expires_at_ms FROM locks "
            "WHERE account_id = ?",
            (account_id,),
        ).fetchone()
    return None if row is None else _holder(row)


def break_lock(journal: Journal, account_id: str) -> LockHolder | None:
    """Remove the account's lock whoever holds it (for an operator); returns the holder."""
    with journal._write() as conn:
        row = conn.execute(
            "SELECT account_id, owner, pid, host, acquired_at, expires_at_ms FROM locks "
            "WHERE account_id = ?",
            (account_id,),
        ).fetchone()
        conn.execute("DELETE FROM locks WHERE account_id = ?", (account_id,))
    return None if row is None else _holder(row)


def _holder(row: tuple[Any, ...]) -> LockHolder:
    account_id, owner, pid, host, acquired_at, expires_at_ms = row
    return LockHolder(
        account_id=account_id,
        owner=owner,
        pid=int(pid),
        host=host,
        acquired_at=acquired_at,
        expires_at=db.iso_utc(int(expires_at_ms)),
    )


class AccountLock:
    """An exclusive, expiring lock on one account, held in the journal's database.

    `journal_or_path` is an open Journal, a journal file, or a state directory. Use as a
    context manager (`with` or `async with`) or call acquire/refresh/release yourself.
    """

    def __init__(
        self,
        journal_or_path: Journal | Path | str,
        account_id: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        owner: str | None = None,
        wait_s: float = 0.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.account_id = account_id
        self.ttl_s = ttl_s
        self.owner = owner
        self.wait_s = wait_s
        self._given: Journal | None = None
        self._path: Path | None = None
        if isinstance(journal_or_path, Journal):
            self._given = journal_or_path
        else:
            path = Path(journal_or_path)
            # A directory (or a name without suffix, like ".runner") is a state directory.
            self._path = path / JOURNAL_FILENAME if path.is_dir() or not path.suffix else path
        self._clock = clock
        self._journal: Journal | None = None
        self._token: str | None = None
        self.took_over: str | None = None  # the warning, when acquire took over a stale lock

    @property
    def held(self) -> bool:
        return self._token is not None

    def _now_ms(self, journal: Journal) -> int:
        return db.to_ms(self._clock()) if self._clock is not None else journal.now_ms()

    def _open(self) -> Journal:
        if self._journal is None:
            if self._given is not None:
                self._journal = self._given
            else:
                assert self._path is not None
                self._journal = Journal(self._path)
        return self._journal

    def _close_own(self) -> None:
        if self._journal is not None and self._given is None:
            self._journal.close()
        self._journal = None

    # --- acquire ---------------------------------------------------------------------------

    def _try_acquire(self) -> LockHolder | None:
        """One atomic attempt: None when acquired, else the live holder."""
        journal = self._open()
        token = secrets.token_hex(16)
        host = socket.gethostname()
        pid = os.getpid()
        fields = (("owner", self.owner), ("account_id", self.account_id), ("host", host))
        with journal._write(*fields) as conn:
            now = self._now_ms(journal)
            row = conn.execute(
                "SELECT account_id, owner, pid, host, acquired_at, expires_at_ms FROM locks "
                "WHERE account_id = ?",
                (self.account_id,),
            ).fetchone()
            stale_reason = None
            if row is not None:
                holder = _holder(row)
                stale_reason = self._stale_reason(holder, int(row[5]), now, host)
                if stale_reason is None:
                    return holder
            conn.execute(
                "INSERT OR REPLACE INTO locks (account_id, owner, pid, host, acquired_at, "
                "acquired_at_ms, expires_at_ms, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.account_id,
                    self.owner,
                    pid,
                    host,
                    db.iso_utc(now),
                    now,
                    now + db.to_ms(self.ttl_s),
                    token,
                ),
            )
        self._token = token
        self.took_over = None
        if row is not None:
            self.took_over = (
                f"took over a stale lock on account {self.account_id!r} held by pid "
                f"{holder.pid} on host {holder.host} since {holder.acquired_at} ({stale_reason})"
            )
            log.warning("%s", self.took_over)
        return None

    @staticmethod
    def _stale_reason(holder: LockHolder, expires_ms: int, now_ms: int, host: str) -> str | None:
        if expires_ms <= now_ms:
            return f"it expired at {holder.expires_at}"
        if holder.host == host and not pid_alive(holder.pid):
            return "its process no longer exists"
        return None

    def _busy(self, holder: LockHolder, waited_s: float) -> LockBusy:
        journal_path = self._journal.path if self._journal is not None else self._path
        waited = f" (waited {waited_s:g} s)" if waited_s > 0 else ""
        quoted = self.account_id.replace("'", "''")
        statement = f"DELETE FROM locks WHERE account_id = '{quoted}'"  # noqa: S608 (shown, not run)
        return LockBusy(
            f"account {self.account_id!r} is locked by {holder.describe()} since "
            f"{holder.acquired_at}, until {holder.expires_at}{waited}: another reconcile is "
            "running. Wait for it to finish; a lock whose process is gone is taken over "
            "automatically once it expires (at once on the same host). To clear it now, "
            f"make sure that process is stopped, then run: sqlite3 {journal_path} "
            f'"{statement}"'
        )

    def _check_not_held(self) -> None:
        if self._token is not None:
            raise JournalError(f"the lock on account {self.account_id!r} is already held")

    def acquire(self, wait_s: float | None = None) -> str | None:
        """Take the lock, waiting up to `wait_s` seconds; LockBusy if it stays held.

        Returns the warning when a stale lock was taken over (also logged), else None.
        """
        self._check_not_held()
        wait = self.wait_s if wait_s is None else wait_s
        start = time.monotonic()
        pause = _POLL_S
        try:
            while True:
                holder = self._try_acquire()
                if holder is None:
                    return self.took_over
                waited = time.monotonic() - start
                if waited >= wait:
                    raise self._busy(holder, wait)
                time.sleep(min(pause, wait - waited))
                pause = min(pause * 2, _POLL_MAX_S)
        except BaseException:
            if self._token is None:
                self._close_own()
            raise

    async def acquire_async(self, wait_s: float | None = None) -> str | None:
        """As `acquire`, without blocking the event loop while waiting."""
        self._check_not_held()
        wait = self.wait_s if wait_s is None else wait_s
        start = time.monotonic()
        pause = _POLL_S
        try:
            while True:
                # The attempt itself may wait on SQLite's busy timeout: keep it off the loop.
                holder = await asyncio.to_thread(self._try_acquire)
                if holder is None:
                    return self.took_over
                waited = time.monotonic() - start
                if waited >= wait:
                    raise self._busy(holder, wait)
                await asyncio.sleep(min(pause, wait - waited))
                pause = min(pause * 2, _POLL_MAX_S)
        except BaseException:
            if self._token is None:
                self._close_own()
            raise

    # --- hold and release ------------------------------------------------------------------

    def refresh(self) -> None:
        """Push the expiry `ttl_s` from now; LockLost if another process took the lock over."""
        if self._token is None or self._journal is None:
            raise JournalError(f"cannot refresh the lock on account {self.account_id!r}: not held")
        journal = self._journal
        with journal._write() as conn:
            cursor = conn.execute(
                "UPDATE locks SET expires_at_ms = ? WHERE account_id = ? AND token = ?",
                (self._now_ms(journal) + db.to_ms(self.ttl_s), self.account_id, self._token),
            )
            lost = cursor.rowcount == 0
        if lost:
            self._token = None
            self._close_own()
            raise LockLost(
                f"lost the lock on account {self.account_id!r}: it expired and another "
                "reconcile took it over; stop writing and re-plan from the exchange's state"
            )

    def release(self) -> bool:
        """Release the lock if we still hold it (token match); True if a row was removed."""
        if self._token is None or self._journal is None:
            return False
        token, self._token = self._token, None
        try:
            with self._journal._write() as conn:
                cursor = conn.execute(
                    "DELETE FROM locks WHERE account_id = ? AND token = ?",
                    (self.account_id, token),
                )
                return cursor.rowcount > 0
        finally:
            self._close_own()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def __aenter__(self) -> Self:
        await self.acquire_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.release)

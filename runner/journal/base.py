"""The journal's connection: opening, closing, and the short transactions every part uses.

`JournalBase` owns one SQLite connection (see `db` for its settings) behind a mutex, so threads
may share a Journal, and hands out read blocks and `BEGIN IMMEDIATE` write transactions that
commit at once. It must never let a write through without first checking its text values
against the registered secrets.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from runner.journal import db
from runner.journal.errors import JournalError

DEFAULT_STATE_DIR = Path(".runner")
JOURNAL_FILENAME = "journal.sqlite3"
DEFAULT_BUSY_TIMEOUT_S = 10.0


def choice(name: str, value: str, allowed: frozenset[str]) -> str:
    """`value` if it is one of `allowed`; a ValueError (a caller's bug) otherwise."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, not {value!r}")
    return str(value)


class JournalBase:
    """The connection and transactions that the parts of `Journal` share."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._mutex = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = db.connect(self.path, busy_timeout_s=busy_timeout_s)

    @classmethod
    def register_secret(cls, secret: str) -> None:
        """Refuse, from now on and in every Journal of this process, text containing `secret`."""
        db.register_secret(secret)

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return db.user_version(conn)

    # --- plumbing (also used by runner.journal.lock) ---------------------------------------

    def now_ms(self) -> int:
        return db.to_ms(self.clock())

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._conn is None:
                raise JournalError(f"the journal {self.path} is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise JournalError(f"reading the journal {self.path} failed: {exc}") from exc

    @contextmanager
    def _write(self, *fields: tuple[str, object]) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken with BEGIN IMMEDIATE and committed on exit.

        IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        writes can fail at once with SQLITE_BUSY instead of waiting out the busy timeout.
        `fields` are the named text values about to be written, checked for secrets first.
        """
        db.check_no_secret(fields)
        with self._mutex:
            if self._conn is None:
                raise JournalError(f"the journal {self.path} is closed")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise JournalError(f"writing the journal {self.path} failed: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise JournalError(f"writing the journal {self.path} failed: {exc}") from exc
            except BaseException:
                _rollback(conn)
                raise


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite rolls some failures (disk full, I/O error) back on its own; ROLLBACK would fail.
    if conn.in_transaction:
        conn.execute("ROLLBACK")

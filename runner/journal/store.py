"""The journal: runs, intents and their outcomes, and facts learned from the exchange.

Written by the reconcile engine, read by the scheduler and `runner history`. An intent is
committed (fsync'd) before its write is sent to the exchange and gets its outcome after, so a
crash in between leaves an intent without outcome that the next run resolves by looking it up
(`unresolved_intents`, `resolve_intent`). Each write is one short transaction, committed at
once, so several processes can share the file.

The journal must never hold credentials: every text value is checked against the secrets
registered with `Journal.register_secret` and refused (SecretRefused) if it contains one. It
records what happened; it is never the source of truth about the account (the exchange is),
apart from the margin added per day, which the exchange does not report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runner.journal.base import DEFAULT_BUSY_TIMEOUT_S, DEFAULT_STATE_DIR, JOURNAL_FILENAME
from runner.journal.facts import FactsMixin
from runner.journal.intents import IntentsMixin
from runner.journal.runs import RunsMixin

__all__ = ["DEFAULT_STATE_DIR", "JOURNAL_FILENAME", "Journal"]


class Journal(RunsMixin, IntentsMixin, FactsMixin):
    """One SQLite journal file; safe to share between threads and processes."""

    @classmethod
    def open(
        cls,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> Journal:
        """Open `<state_dir>/journal.sqlite3`, creating the directory (owner-only) if needed."""
        state_dir = Path(state_dir)
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(state_dir / JOURNAL_FILENAME, clock=clock, busy_timeout_s=busy_timeout_s)

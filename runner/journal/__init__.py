"""The journal: an SQLite audit trail of runs, the intents and outcomes of every write, facts
learned from the exchange, and the per-account lock.

It lives in the state directory (`.runner/journal.sqlite3` by default) and must never hold
credentials. See `store` (Journal), `lock` (AccountLock), `git` (git_info).
"""

from runner.journal.db import SCHEMA_VERSION
from runner.journal.errors import JournalError, LockBusy, LockLost, SecretRefused
from runner.journal.git import git_info
from runner.journal.lock import AccountLock, break_lock, lock_holder
from runner.journal.records import IntentRecord, LockHolder, RunRecord
from runner.journal.store import DEFAULT_STATE_DIR, JOURNAL_FILENAME, Journal

__all__ = [
    "DEFAULT_STATE_DIR",
    "JOURNAL_FILENAME",
    "SCHEMA_VERSION",
    "AccountLock",
    "IntentRecord",
    "Journal",
    "JournalError",
    "LockBusy",
    "LockHolder",
    "LockLost",
    "RunRecord",
    "SecretRefused",
    "break_lock",
    "git_info",
    "lock_holder",
]

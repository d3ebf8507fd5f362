"""Errors raised by the journal and the per-account lock.

All are `RunnerError`s: the command line shows them as one line. Messages name paths, run and
intent ids, pids and hosts; they must never quote a value that was refused for holding a secret.
"""

from __future__ import annotations

from runner.errors import RunnerError


class JournalError(RunnerError):
    """The journal could not be read or written, or was asked something inconsistent."""


class SecretRefused(JournalError):
    """A value about to be written contains a registered secret; nothing was written."""


class LockBusy(JournalError):
    """Another live reconcile holds the account's lock."""


class LockLost(JournalError):
    """The lock we held was taken over (it expired): stop writing to the account."""

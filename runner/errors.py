"""The root of every error a user can see.

Each error carries the exit code the command line turns it into. Tracebacks are for bugs only:
anything a user can cause is a RunnerError subclass with a one-line message.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES_PENDING = 2
EXIT_BLOCKED = 3


class RunnerError(Exception):
    """An error the user can act on; `str()` is the one line shown to them."""

    exit_code: int = EXIT_ERROR


class ConfigError(RunnerError):
    """Settings, credentials or key files are missing, malformed or unsafe."""


class GuardViolation(RunnerError):
    """The projected state would breach a guard of the playbook; nothing was written."""

    exit_code = EXIT_BLOCKED

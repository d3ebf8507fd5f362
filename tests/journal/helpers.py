"""Shared test helpers: a settable clock and child Python processes that use the journal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from runner.journal import Journal

START = 1_750_000_000.0  # 2025-06-15T15:06:40Z


class FakeClock:
    """Wall-clock seconds that move only when told to."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def start_run(journal: Journal, **overrides: Any) -> int:
    fields: dict[str, Any] = {
        "playbook": "eth-swing",
        "playbook_path": "playbooks/eth-swing.yaml",
        "account_id": "acct-1",
        "network": "sim",
        "mode": "apply",
        "git_commit": "0123abc",
        "git_dirty": False,
    }
    fields.update(overrides)
    return journal.start_run(**fields)


def python_child(
    code: str, *args: str | Path | int, stdin: int | None = None
) -> subprocess.Popen[str]:
    """Start `python -c code args...`; the code sees them in sys.argv[1:]."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

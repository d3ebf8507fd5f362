"""Runs: one row per `plan`, `apply` or scheduled reconcile, with its outcome and summary.

`runner history` reads them newest first. A run with no `finished_at` is still going, or its
process died; its intents say how far it got.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Mapping
from typing import Any

from runner.journal import db
from runner.journal.base import JournalBase, choice
from runner.journal.errors import JournalError
from runner.journal.records import RUN_MODES, RUN_OUTCOMES, RunRecord


class RunsMixin(JournalBase):
    """Runs: start, finish, and read back for history."""

    def start_run(
        self,
        *,
        playbook: str,
        playbook_path: str,
        account_id: str,
        network: str,
        mode: str,
        git_commit: str | None,
        git_dirty: bool | None,
    ) -> int:
        mode = choice("mode", mode, RUN_MODES)
        now = self.now_ms()
        host = socket.gethostname()
        fields = (
            ("playbook", playbook),
            ("playbook_path", playbook_path),
            ("account_id", account_id),
            ("network", network),
            ("git_commit", git_commit),
            ("host", host),
        )
        with self._write(*fields) as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, started_at_ms, playbook, playbook_path, "
                "account_id, network, mode, git_commit, git_dirty, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    db.iso_utc(now),
                    now,
                    playbook,
                    str(playbook_path),
                    account_id,
                    str(network),
                    mode,
                    git_commit,
                    None if git_dirty is None else int(git_dirty),
                    os.getpid(),
                    host,
                ),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        summary: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        outcome = choice("outcome", outcome, RUN_OUTCOMES)
        summary_text = db.to_json(summary)
        with self._write(("summary", summary_text), ("error", error)) as conn:
            cursor = conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, summary = ?, error = ? "
                "WHERE run_id = ? AND finished_at IS NULL",
                (db.iso_utc(self.now_ms()), outcome, summary_text, error, run_id),
            )
            if cursor.rowcount == 0:
                exists = conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,))
                state = "is already finished" if exists.fetchone() else "does not exist"
                raise JournalError(f"cannot finish run {run_id}: it {state}")

    def close_abandoned_runs(self, account_id: str, *, current_run_id: int) -> list[int]:
        """Mark the account's writing runs that never finished as failed.

        Call it while holding the account's lock: no other apply or scheduled run can be
        alive then, so an unfinished one was killed or crashed. Plans take no lock and are
        left alone. Returns the run ids closed."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT run_id, pid, host FROM runs WHERE account_id = ? AND run_id != ? "
                "AND finished_at IS NULL AND mode IN ('apply', 'scheduled', 'simulate')",
                (account_id, current_run_id),
            ).fetchall()
        for run_id, pid, host in rows:
            self.finish_run(
                run_id,
                outcome="failed",
                summary={},
                error=f"abandoned: the process (pid {pid} on {host}) stopped before finishing",
            )
        return [row[0] for row in rows]

    def runs(
        self, limit: int = 50, playbook: str | None = None, account_id: str | None = None
    ) -> list[RunRecord]:
        """The latest runs, newest first, optionally of one playbook and/or account."""
        query = (
            "SELECT run_id, started_at, finished_at, playbook, playbook_path, account_id, "
            "network, mode, git_commit, git_dirty, pid, host, outcome, summary, error "
            "FROM runs WHERE (?1 IS NULL OR playbook = ?1) AND (?2 IS NULL OR account_id = ?2) "
            "ORDER BY run_id DESC LIMIT ?3"
        )
        with self._read() as conn:
            rows = conn.execute(query, (playbook, account_id, limit)).fetchall()
            actions = self._action_counts(conn, [row[0] for row in rows])
        return [_run_record(row, actions.get(row[0], {})) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT run_id, started_at, finished_at, playbook, playbook_path, account_id, "
                "network, mode, git_commit, git_dirty, pid, host, outcome, summary, error "
                "FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            actions = self._action_counts(conn, [run_id])
        return _run_record(row, actions.get(run_id, {}))

    @staticmethod
    def _action_counts(conn: sqlite3.Connection, run_ids: list[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        if not run_ids:
            return counts
        marks = ", ".join("?" for _ in run_ids)
        rows = conn.execute(
            "SELECT run_id, action_type, COUNT(*) FROM intents "  # noqa: S608 (only '?' marks)
            f"WHERE run_id IN ({marks}) GROUP BY run_id, action_type",
            run_ids,
        )
        for run_id, action_type, count in rows:
            counts.setdefault(run_id, {})[action_type] = count
        return counts


def _run_record(row: tuple[Any, ...], actions: dict[str, int]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        started_at=row[1],
        finished_at=row[2],
        playbook=row[3],
        playbook_path=row[4],
        account_id=row[5],
        network=row[6],
        mode=row[7],
        git_commit=row[8],
        git_dirty=None if row[9] is None else bool(row[9]),
        pid=row[10],
        host=row[11],
        outcome=row[12],
        summary=db.from_json(row[13]),
        error=row[14],
        actions=actions,
    )

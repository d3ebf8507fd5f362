from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runner.journal import JOURNAL_FILENAME, SCHEMA_VERSION, Journal, JournalError

from .helpers import start_run


def test_a_new_journal_is_at_the_current_schema_version(journal: Journal) -> None:
    assert journal.schema_version == SCHEMA_VERSION >= 1


def test_reopening_a_journal_migrates_nothing_and_keeps_its_rows(state_dir: Path) -> None:
    with Journal.open(state_dir) as first:
        run_id = start_run(first)
    for _ in range(3):
        with Journal.open(state_dir) as again:
            assert again.schema_version == SCHEMA_VERSION
            assert [r.run_id for r in again.runs()] == [run_id]


def test_an_empty_sqlite_file_is_migrated(state_dir: Path) -> None:
    state_dir.mkdir()
    sqlite3.connect(state_dir / JOURNAL_FILENAME).close()
    with Journal.open(state_dir) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        start_run(journal)


def test_a_journal_from_a_newer_runner_is_refused_untouched(state_dir: Path) -> None:
    with Journal.open(state_dir) as journal:
        start_run(journal)
        path = journal.path
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match=r"newer than this runner") as refused:
        Journal.open(state_dir)
    assert str(path) in str(refused.value)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert raw.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_a_file_that_is_not_a_database_is_a_journal_error(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / JOURNAL_FILENAME).write_text("not sqlite at all, " * 100)
    with pytest.raises(JournalError, match="cannot open the journal"):
        Journal.open(state_dir)

from __future__ import annotations

import sqlite3
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from runner.journal import JOURNAL_FILENAME, Journal, JournalError

from .helpers import FakeClock, start_run


def test_open_creates_an_owner_only_state_dir_with_a_wal_journal(
    state_dir: Path, journal: Journal
) -> None:
    assert journal.path == state_dir / JOURNAL_FILENAME
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    with sqlite3.connect(journal.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_run_is_read_back_with_its_outcome_summary_and_action_counts(
    journal: Journal, clock: FakeClock
) -> None:
    run_id = start_run(journal, git_commit="deadbeef", git_dirty=True)
    for action in ("place_order", "place_order", "set_leverage"):
        intent = journal.record_intent(
            run_id,
            action_type=action,
            symbol="PERP_ETH_USDC",
            margin_mode="ISOLATED",
            client_order_id=None,
            payload={},
        )
        journal.record_outcome(intent, status="done")
    clock.advance(2.5)
    journal.finish_run(
        run_id, outcome="applied", summary={"margin_added": Decimal("12.50")}, error=None
    )

    [record] = journal.runs()
    assert record.run_id == run_id
    assert record.started_at == "2025-06-15T15:06:40.000Z"
    assert record.finished_at == "2025-06-15T15:06:42.500Z"
    assert (record.playbook, record.account_id, record.network) == ("eth-swing", "acct-1", "sim")
    assert (record.mode, record.outcome, record.error) == ("apply", "applied", None)
    assert (record.git_commit, record.git_dirty) == ("deadbeef", True)
    assert record.summary == {"margin_added": "12.50"}
    assert record.actions == {"place_order": 2, "set_leverage": 1}
    assert journal.run(run_id) == record


def test_an_unfinished_run_has_no_outcome_and_unknown_git_state_stays_unknown(
    journal: Journal,
) -> None:
    run_id = start_run(journal, git_commit=None, git_dirty=None, mode="plan")
    record = journal.run(run_id)
    assert record is not None
    assert (record.finished_at, record.outcome, record.summary) == (None, None, None)
    assert (record.git_commit, record.git_dirty) == (None, None)
    assert record.actions == {}


def test_runs_are_listed_newest_first_limited_and_filtered(journal: Journal) -> None:
    ids = [start_run(journal, playbook=name) for name in ("a", "b", "a", "a")]
    assert [r.run_id for r in journal.runs()] == ids[::-1]
    assert [r.run_id for r in journal.runs(limit=2)] == ids[:1:-1]
    assert [r.run_id for r in journal.runs(playbook="a")] == [ids[3], ids[2], ids[0]]
    assert journal.runs(playbook="nope") == []
    other = start_run(journal, playbook="a", account_id="acct-2")
    assert [r.run_id for r in journal.runs(account_id="acct-2")] == [other]


def test_a_failed_run_keeps_its_error(journal: Journal) -> None:
    run_id = start_run(journal)
    journal.finish_run(run_id, outcome="failed", summary={}, error="POST /v1/order: rejected")
    record = journal.run(run_id)
    assert record is not None
    assert (record.outcome, record.error) == ("failed", "POST /v1/order: rejected")


def test_finishing_a_run_twice_or_an_unknown_run_is_refused(journal: Journal) -> None:
    run_id = start_run(journal)
    journal.finish_run(run_id, outcome="in_sync", summary={})
    with pytest.raises(JournalError, match="already finished"):
        journal.finish_run(run_id, outcome="failed", summary={})
    with pytest.raises(JournalError, match="does not exist"):
        journal.finish_run(run_id + 100, outcome="failed", summary={})
    record = journal.run(run_id)
    assert record is not None
    assert record.outcome == "in_sync"


def test_modes_and_outcomes_outside_the_vocabulary_are_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="mode"):
        start_run(journal, mode="destroy")
    run_id = start_run(journal)
    with pytest.raises(ValueError, match="outcome"):
        journal.finish_run(run_id, outcome="great", summary={})


def test_a_closed_journal_refuses_use_and_closing_twice_is_harmless(journal: Journal) -> None:
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.runs()
    with pytest.raises(JournalError, match="closed"):
        start_run(journal)

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from runner.enums import MarginMode
from runner.journal import IntentRecord, Journal, JournalError

from .helpers import python_child, start_run

ORDER = {"symbol": "PERP_ETH_USDC", "order_price": Decimal("2500.10"), "order_quantity": 1}


def place(journal: Journal, run_id: int, coid: str = "eth-swing-dip1-ab12") -> int:
    return journal.record_intent(
        run_id,
        action_type="place_order",
        symbol="PERP_ETH_USDC",
        margin_mode=MarginMode.ISOLATED,
        client_order_id=coid,
        payload=ORDER,
    )


def test_an_intent_has_no_outcome_until_one_is_recorded(journal: Journal) -> None:
    run_id = start_run(journal)
    intent_id = place(journal, run_id)

    [before] = journal.intents(run_id)
    assert (before.intent_id, before.status, before.detail, before.outcome_at) == (
        intent_id,
        None,
        None,
        None,
    )
    assert before.unresolved
    assert (before.margin_mode, before.client_order_id) == ("ISOLATED", "eth-swing-dip1-ab12")
    assert before.payload == {
        "symbol": "PERP_ETH_USDC",
        "order_price": "2500.10",
        "order_quantity": 1,
    }

    journal.record_outcome(intent_id, status="done", detail={"order_id": 13})
    [after] = journal.intents(run_id)
    assert (after.status, after.detail) == ("done", {"order_id": 13})
    assert after.outcome_at is not None
    assert not after.unresolved


def test_decimals_are_stored_as_exact_fixed_point_text(journal: Journal) -> None:
    run_id = start_run(journal)
    journal.record_intent(
        run_id,
        action_type="adjust_margin",
        symbol="PERP_ETH_USDC",
        margin_mode="ISOLATED",
        client_order_id=None,
        payload={"amount": Decimal("0.00000001"), "big": Decimal("1E+3"), "type": "ADD"},
    )
    with sqlite3.connect(journal.path) as raw:
        [(text,)] = raw.execute("SELECT payload FROM intents").fetchall()
    assert text == '{"amount":"0.00000001","big":"1000","type":"ADD"}'


def test_a_final_outcome_cannot_be_overwritten_but_unknown_can(journal: Journal) -> None:
    run_id = start_run(journal)
    lost = place(journal, run_id, "a-1")
    journal.record_outcome(lost, status="unknown", detail={"error": "read timeout"})
    journal.record_outcome(lost, status="done", detail={"order_id": 7})
    with pytest.raises(JournalError, match="already done"):
        journal.record_outcome(lost, status="failed")
    with pytest.raises(JournalError, match="does not exist"):
        journal.record_outcome(lost + 100, status="done")
    with pytest.raises(ValueError, match="status"):
        journal.record_outcome(place(journal, run_id, "a-2"), status="maybe")


def test_intents_are_refused_for_a_finished_or_missing_run(journal: Journal) -> None:
    run_id = start_run(journal)
    journal.finish_run(run_id, outcome="in_sync", summary={})
    with pytest.raises(JournalError, match="no such run in progress"):
        place(journal, run_id)
    with pytest.raises(JournalError, match="no such run in progress"):
        place(journal, run_id + 100)
    assert journal.intents(run_id) == []


def test_unresolved_intents_are_those_of_the_account_without_a_known_result(
    journal: Journal,
) -> None:
    earlier = start_run(journal)
    crashed = place(journal, earlier, "a-1")
    lost = place(journal, earlier, "a-2")
    journal.record_outcome(lost, status="unknown", detail={"error": "connection reset"})
    for status in ("done", "failed", "skipped"):
        journal.record_outcome(place(journal, earlier, f"a-{status}"), status=status)
    elsewhere = start_run(journal, account_id="acct-2")
    place(journal, elsewhere, "b-1")
    current = start_run(journal)
    in_flight = place(journal, current, "a-3")

    def ids(records: list[IntentRecord]) -> list[int]:
        return [r.intent_id for r in records]

    assert ids(journal.unresolved_intents("acct-1")) == [crashed, lost, in_flight]
    assert ids(journal.unresolved_intents("acct-1", exclude_run_id=current)) == [crashed, lost]
    assert journal.unresolved_intents("acct-3") == []


def test_resolving_an_intent_settles_it_and_keeps_the_original_detail(journal: Journal) -> None:
    earlier = start_run(journal)
    lost = place(journal, earlier)
    journal.record_outcome(lost, status="unknown", detail={"error": "read timeout"})
    now = start_run(journal)

    journal.resolve_intent(lost, "done", {"found": "order 13 NEW"}, resolved_by_run=now)

    assert journal.unresolved_intents("acct-1") == []
    [record] = journal.intents(earlier)
    assert record.status == "done"
    assert record.detail == {"error": "read timeout"}
    assert record.resolution == {"found": "order 13 NEW"}
    assert record.resolved_by_run == now
    assert record.resolved_at is not None
    with pytest.raises(JournalError, match="already done"):
        journal.resolve_intent(lost, "failed")
    with pytest.raises(ValueError, match="status"):
        journal.resolve_intent(place(journal, now), "unknown")


CRASH_AFTER_INTENT = """
    import os, sys
    from decimal import Decimal
    from pathlib import Path
    from runner.journal import Journal

    journal = Journal.open(Path(sys.argv[1]))
    run_id = journal.start_run(
        playbook="eth-swing", playbook_path="p.yaml", account_id="acct-1", network="sim",
        mode="apply", git_commit=None, git_dirty=None,
    )
    journal.record_intent(
        run_id, action_type="place_order", symbol="PERP_ETH_USDC", margin_mode="ISOLATED",
        client_order_id="eth-swing-dip1-ab12", payload={"order_price": Decimal("2500")},
    )
    print(run_id, flush=True)
    os._exit(9)  # dies between the write and its outcome: no close, no finish_run
"""


def test_an_intent_left_by_a_crashed_process_is_unresolved_on_the_next_run(
    state_dir: Path,
) -> None:
    child = python_child(CRASH_AFTER_INTENT, state_dir)
    stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 9, stderr
    crashed_run = int(stdout)

    with Journal.open(state_dir) as journal:
        [intent] = journal.unresolved_intents("acct-1")
        assert (intent.run_id, intent.status) == (crashed_run, None)
        assert intent.client_order_id == "eth-swing-dip1-ab12"
        assert intent.payload == {"order_price": "2500"}
        run = journal.run(crashed_run)
        assert run is not None
        assert (run.finished_at, run.outcome) == (None, None)


def test_fills_are_remembered_per_account(journal: Journal) -> None:
    journal.mark_order_filled("acct-1", "eth-swing-dip1-ab12", filled_at_ms=1_000)
    journal.mark_order_filled("acct-1", "eth-swing-dip1-ab12", filled_at_ms=2_000)
    journal.mark_order_filled("acct-1", "eth-swing-dip2-cd34", filled_at_ms=1_500)
    journal.mark_order_filled("acct-2", "other-x-1", filled_at_ms=1_000)

    assert journal.filled_order_ids("acct-1") == {"eth-swing-dip1-ab12", "eth-swing-dip2-cd34"}
    assert journal.filled_order_ids("acct-3") == set()

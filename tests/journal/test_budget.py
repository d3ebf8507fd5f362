from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.journal import Journal, JournalError

from .helpers import START, FakeClock, start_run

DAY_MS = 86_400_000
NOW_MS = int(START * 1000)


def adjust(
    journal: Journal, run_id: int, amount: str, kind: str = "ADD", status: str | None = "done"
) -> int:
    intent = journal.record_intent(
        run_id,
        action_type="adjust_margin",
        symbol="PERP_ETH_USDC",
        margin_mode="ISOLATED",
        client_order_id=None,
        payload={
            "symbol": "PERP_ETH_USDC",
            "amount": Decimal(amount),
            "type": "adjust_margin",
            "adjustment": kind,
        },
    )
    if status is not None:
        journal.record_outcome(intent, status=status)
    return intent


def test_margin_added_sums_done_adds_across_runs_inside_the_window(
    journal: Journal, clock: FakeClock
) -> None:
    old = start_run(journal)
    adjust(journal, old, "1000")  # before the window
    clock.advance(2 * 86_400)
    since = int(clock() * 1000) - DAY_MS
    first = start_run(journal)
    adjust(journal, first, "0.1")
    adjust(journal, first, "50", kind="REDUCE")
    journal.finish_run(first, outcome="applied", summary={})
    clock.advance(3_600)
    second = start_run(journal)
    adjust(journal, second, "0.2")
    journal.record_outcome(
        journal.record_intent(
            second,
            action_type="place_order",
            symbol="PERP_ETH_USDC",
            margin_mode="ISOLATED",
            client_order_id="x",
            payload={"amount": "999", "adjustment": "ADD"},
        ),
        status="done",
    )

    added = journal.margin_added_since("acct-1", "eth-swing", since)
    assert added == Decimal("0.3")
    assert journal.margin_added_since("acct-1", "eth-swing", since - 2 * DAY_MS) == Decimal(
        "1000.3"
    )


def test_failed_and_skipped_adds_do_not_count_but_unconfirmed_ones_do(journal: Journal) -> None:
    run_id = start_run(journal)
    adjust(journal, run_id, "1", status="failed")
    adjust(journal, run_id, "2", status="skipped")
    adjust(journal, run_id, "4", status="unknown")
    in_doubt = adjust(journal, run_id, "8", status=None)
    assert journal.margin_added_since("acct-1", "eth-swing", 0) == Decimal(12)

    journal.resolve_intent(in_doubt, "failed", {"found": "no change in position margin"})
    assert journal.margin_added_since("acct-1", "eth-swing", 0) == Decimal(4)


def test_margin_added_is_per_account_and_playbook(journal: Journal) -> None:
    adjust(journal, start_run(journal), "5")
    adjust(journal, start_run(journal, playbook="btc-hedge"), "7")
    adjust(journal, start_run(journal, account_id="acct-2"), "11")
    assert journal.margin_added_since("acct-1", "eth-swing", 0) == Decimal(5)
    assert journal.margin_added_since("acct-1", "btc-hedge", 0) == Decimal(7)
    assert journal.margin_added_since("acct-2", "eth-swing", 0) == Decimal(11)
    assert journal.margin_added_since("acct-3", "eth-swing", 0) == Decimal(0)


def test_an_add_without_a_readable_amount_is_an_error_not_zero(journal: Journal) -> None:
    run_id = start_run(journal)
    journal.record_intent(
        run_id,
        action_type="adjust_margin",
        symbol="PERP_ETH_USDC",
        margin_mode="ISOLATED",
        client_order_id=None,
        payload={"adjustment": "ADD"},
    )
    with pytest.raises(JournalError, match="readable amount"):
        journal.margin_added_since("acct-1", "eth-swing", 0)


adds = st.lists(
    st.tuples(
        st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False),
        st.integers(min_value=0, max_value=3 * DAY_MS),  # age when checked
        st.sampled_from(["ADD", "REDUCE"]),
        st.sampled_from(["done", "failed", "skipped", "unknown", None]),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(adds=adds)
def test_margin_added_equals_the_sum_of_counted_adds_in_the_last_day(
    adds: list[tuple[Decimal, int, str, str | None]],
) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp, Journal.open(Path(tmp), clock=clock) as journal:
        end = START + 3 * 86_400
        for amount, age_ms, kind, status in sorted(adds, key=lambda a: -a[1]):
            clock.now = end - age_ms / 1000
            adjust(journal, start_run(journal), str(amount), kind, status)
        expected = sum(
            (
                amount
                for amount, age_ms, kind, status in adds
                if kind == "ADD" and status in ("done", "unknown", None) and age_ms <= DAY_MS
            ),
            Decimal(0),
        )
        since = int(end * 1000) - DAY_MS
        assert journal.margin_added_since("acct-1", "eth-swing", since) == expected

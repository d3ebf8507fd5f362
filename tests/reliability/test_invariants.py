"""The benches' invariant checks catch what they claim to: planted duplicates, guard breaches
and touched foreign orders are found, and legitimate histories are not flagged."""

from __future__ import annotations

from decimal import Decimal

import _invariants as inv

from runner.enums import MarginMode, OrderType, Side
from runner.playbook.model import Guards, OrderSpec, Playbook, SymbolSpec

ETH = "PERP_ETH_USDC"


def playbook(**guards: object) -> Playbook:
    orders = (
        OrderSpec("dip", Side.BUY, OrderType.LIMIT, Decimal("0.1"), Decimal("2700")),
        OrderSpec("again", Side.BUY, OrderType.LIMIT, Decimal("0.1"), Decimal("2600"), repeat=True),
    )
    spec = SymbolSpec(ETH, MarginMode.ISOLATED, 5, orders=orders)
    return Playbook(name="inv", symbols=(spec,), guards=Guards(**guards))  # type: ignore[arg-type]


DECL = inv.Declared.of(playbook(max_open_orders=1, max_order_notional=Decimal(300)))
DIP, AGAIN = sorted(DECL.entries, key=lambda c: DECL.entries[c].key)[::-1]


def row(oid: int, coid: str, status: str, created: int, updated: int, **kw: object) -> inv.OrderRow:
    return inv.OrderRow(
        order_id=oid,
        account_id="acc",
        client_order_id=coid,
        symbol=ETH,
        side="BUY",
        type="LIMIT",
        margin_mode="ISOLATED",
        price=kw.get("price", Decimal("2700")),  # type: ignore[arg-type]
        quantity=Decimal("0.1"),
        executed=kw.get("executed", Decimal(0)),  # type: ignore[arg-type]
        status=status,
        created_time=created,
        updated_time=updated,
    )


def kinds(found: list[inv.Finding]) -> list[str]:
    return [f.kind for f in found]


def test_the_fixture_ids_are_the_declared_ones() -> None:
    assert DECL.entries[DIP].key == "dip" and DECL.entries[AGAIN].repeat


def test_two_open_orders_with_one_id_are_a_duplicate() -> None:
    rows = [row(1, DIP, "NEW", 10, 10), row(2, DIP, "NEW", 20, 20)]
    assert kinds(inv.check_duplicates("acc", rows, DECL)) == ["overlap"]


def test_an_id_placed_before_its_order_was_cancelled_is_a_duplicate() -> None:
    rows = [row(1, DIP, "CANCELLED", 10, 30), row(2, DIP, "NEW", 20, 20)]
    assert kinds(inv.check_duplicates("acc", rows, DECL)) == ["overlap"]


def test_a_filled_entry_placed_again_is_a_duplicate_unless_it_repeats() -> None:
    filled = Decimal("0.1")
    rows = [row(1, DIP, "FILLED", 10, 15, executed=filled), row(2, DIP, "NEW", 20, 20)]
    assert kinds(inv.check_duplicates("acc", rows, DECL)) == ["replaced_after_fill"]
    rows = [row(1, AGAIN, "FILLED", 10, 15, executed=filled), row(2, AGAIN, "NEW", 20, 20)]
    assert inv.check_duplicates("acc", rows, DECL) == []


def test_a_partly_filled_then_cancelled_entry_placed_again_is_a_duplicate() -> None:
    part = Decimal("0.05")
    rows = [row(1, DIP, "CANCELLED", 10, 15, executed=part), row(2, DIP, "NEW", 20, 20)]
    assert kinds(inv.check_duplicates("acc", rows, DECL)) == ["replaced_after_fill"]


def test_an_entry_placed_again_after_a_clean_cancel_is_fine() -> None:
    rows = [row(1, DIP, "CANCELLED", 10, 15), row(2, DIP, "NEW", 15, 15)]
    assert inv.check_duplicates("acc", rows, DECL) == []


def test_foreign_ids_are_not_judged_as_ours() -> None:
    rows = [row(1, "manual-1", "NEW", 10, 10), row(2, "manual-1", "NEW", 20, 20)]
    assert inv.check_duplicates("acc", rows, DECL) == []


def test_an_undeclared_id_of_ours_left_open_is_a_violation() -> None:
    stale = DIP[:-5] + "zzzzz"
    assert DECL.ours(stale)
    found = inv.check_open_subset("acc", [row(1, stale, "NEW", 1, 1)], DECL)
    assert kinds(found) == ["undeclared_open"]


def test_guards_on_orders_are_checked_over_the_whole_history() -> None:
    rows = [
        row(1, DIP, "CANCELLED", 10, 30),
        row(2, AGAIN, "NEW", 20, 20, price=Decimal("4000")),
    ]
    assert sorted(kinds(inv.check_order_guards("acc", rows, DECL))) == [
        "max_open_orders",
        "max_order_notional",
    ]
    sequential = [row(1, DIP, "CANCELLED", 10, 20), row(2, AGAIN, "NEW", 20, 20)]
    assert inv.check_order_guards("acc", sequential, DECL) == []


def test_the_margin_budget_counts_every_add_that_may_have_landed() -> None:
    decl = inv.Declared.of(playbook(max_margin_added_per_day=Decimal(100)))
    adds = inv.MarginAdds(budgeted=Decimal(60), maybe_landed=Decimal(130), intents=3)
    found = inv.check_margin_budget("acc", decl, adds, committed=Decimal(120))
    assert len(found) == 2 and set(kinds(found)) == {"max_margin_added_per_day"}
    ok = inv.MarginAdds(budgeted=Decimal(60), maybe_landed=Decimal(60), intents=1)
    assert inv.check_margin_budget("acc", decl, ok, committed=Decimal(60)) == []


def test_a_foreign_order_cancelled_by_someone_is_flagged_unless_a_liquidation_did_it() -> None:
    before = [row(7, "manual-1", "NEW", 10, 10)]
    after = [row(7, "manual-1", "CANCELLED", 10, 50)]
    assert kinds(inv.check_foreign(before, after, [])) == ["foreign_touched"]
    liquidation = {"account_id": "acc", "symbol": ETH, "margin_mode": "ISOLATED", "timestamp": 50}
    assert inv.check_foreign(before, after, [liquidation]) == []
    filled = [row(7, "manual-1", "FILLED", 10, 50, executed=Decimal("0.1"))]
    assert inv.check_foreign(before, filled, []) == []

"""The reconcile engine end to end against the in-process simulator."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from runner.enums import MarginMode, OrderType, Side
from runner.journal import AccountLock
from runner.journal.errors import LockBusy
from runner.orderly.errors import OrderlyError
from runner.orderly.orders import Order, OrderRequest
from runner.playbook.build import load_playbook
from runner.playbook.ids import client_order_id
from runner.playbook.model import Playbook
from runner.reconcile.actions import ActionType

from .conftest import Harness

PLAYBOOKS_DIR = Path(__file__).resolve().parents[2] / "playbooks"
PLAYBOOKS = sorted(PLAYBOOKS_DIR.glob("*.yaml"))


def shipped(name: str) -> Playbook:
    return load_playbook(PLAYBOOKS_DIR / name)


async def open_orders(h: Harness) -> list[Order]:
    async with h.client() as client:
        return list(await client.get_orders(status="INCOMPLETE"))


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
async def test_apply_then_plan_is_empty_for_every_shipped_playbook(
    harness: Harness, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_ACCOUNT", "main")
    playbook = load_playbook(path)
    result = await harness.reconciler().run(playbook, apply=True)
    assert result.outcome == "applied", result.messages
    again = await harness.reconciler().run(playbook, apply=False)
    assert again.outcome == "in_sync", [a.to_json() for a in again.plan.actions]
    orders = await open_orders(harness)
    declared = {
        client_order_id(playbook.name, s.symbol, s.margin_mode, o)
        for s in playbook.symbols
        for o in s.orders
        if o.type in (OrderType.LIMIT, OrderType.POST_ONLY) and not o.reduce_only
    }  # a reduce-only exit waits for a position to reduce
    assert {o.client_order_id for o in orders} == declared


async def test_foreign_orders_are_never_touched(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    async with harness.client() as client:
        await client.create_order(
            OrderRequest(
                symbol="PERP_ETH_USDC",
                order_type=OrderType.LIMIT,
                side=Side.BUY,
                order_quantity=Decimal("0.1"),
                order_price=Decimal(2500),
                client_order_id="manual-entry-1",
                margin_mode=MarginMode.CROSS,
            )
        )
        await client.create_order(
            OrderRequest(
                symbol="PERP_BTC_USDC",
                order_type=OrderType.LIMIT,
                side=Side.BUY,
                order_quantity=Decimal("0.001"),
                order_price=Decimal(80000),
            )
        )
    result = await harness.reconciler().run(playbook, apply=True)
    assert result.outcome == "applied"
    assert len(result.plan.unmanaged) == 2
    ids = {o.client_order_id for o in await open_orders(harness)}
    assert "manual-entry-1" in ids
    assert len(ids) == 2 + 3  # both foreign orders plus the three declared entries


async def test_filled_entry_is_not_placed_again(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    assert (await harness.reconciler().run(playbook, apply=True)).outcome == "applied"
    await harness.admin.set_price("PERP_ETH_USDC", Decimal(2690))  # fills dip-1 at 2700
    result = await harness.reconciler().run(playbook, apply=True)
    placed = [a for a in result.plan.actions if a.type == ActionType.PLACE_ORDER]
    assert placed == [], [a.to_json() for a in placed]
    notes = [n for c in result.plan.conditions for n in c.notes]
    assert any("dip-1" in n and "done" in n for n in notes)


async def test_changed_spec_is_cancelled_and_replaced(harness: Harness, tmp_path: Path) -> None:
    source = PLAYBOOKS_DIR / "quickstart.yaml"
    playbook = load_playbook(source)
    assert (await harness.reconciler().run(playbook, apply=True)).outcome == "applied"
    changed = tmp_path / "quickstart.yaml"
    changed.write_text(source.read_text().replace("price: 2550", "price: 2500"))
    new = load_playbook(changed)
    result = await harness.reconciler().run(new, apply=True)
    assert result.plan.count_by_type() == {"cancel_order": 1, "place_order": 1}
    assert result.outcome == "applied"
    prices = {o.price for o in await open_orders(harness)}
    assert Decimal(2500) in prices and Decimal(2550) not in prices


async def test_crash_between_write_and_journal_converges_without_duplicates(
    harness: Harness,
) -> None:
    """An order was placed but the run died before journaling the outcome: the next run
    settles the intent by looking the id up and places nothing twice."""
    playbook = shipped("quickstart.yaml")
    reconciler = harness.reconciler()
    plan, _state = await reconciler.plan(playbook)
    first = plan.actions_of(ActionType.PLACE_ORDER)[0]
    run_id = harness.journal.start_run(
        playbook=playbook.name,
        playbook_path=playbook.source,
        account_id=harness.account_id,
        network="sim",
        mode="apply",
        git_commit=None,
        git_dirty=None,
    )
    intent = harness.journal.record_intent(
        run_id,
        action_type="place_order",
        symbol=first.symbol,
        margin_mode=first.margin_mode.value,
        client_order_id=first.client_order_id,
        payload=first.to_json(),
    )
    from runner.reconcile.execute import order_request

    async with harness.client() as client:
        await client.create_order(order_request(first))
    # ... crash: no outcome, no finish_run.
    result = await harness.reconciler().run(playbook, apply=True)
    assert result.outcome == "applied"
    (settled,) = [i for i in harness.journal.intents(run_id) if i.intent_id == intent]
    assert settled.status == "done"
    ids = [o.client_order_id for o in await open_orders(harness)]
    assert ids.count(first.client_order_id) == 1
    assert len(ids) == len(set(ids)) == 3


async def test_lost_responses_never_duplicate_an_order(harness: Harness) -> None:
    playbook = shipped("multi-symbol.yaml")
    await harness.admin.set_faults(drop_response_rate=0.3, seed=7)
    for _ in range(3):  # runs may fail outright while responses are being lost
        with contextlib.suppress(OrderlyError):
            await harness.reconciler().run(playbook, apply=True)
    await harness.admin.set_faults(drop_response_rate=0, error_rate=0)
    final = await harness.reconciler().run(playbook, apply=True)
    assert final.outcome in ("applied", "in_sync"), final.messages
    ids = [o.client_order_id for o in await open_orders(harness)]
    assert len(ids) == len(set(ids))


async def test_a_second_apply_cannot_write_while_the_lock_is_held(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    with AccountLock(harness.journal, harness.account_id), pytest.raises(LockBusy):
        await harness.reconciler().run(playbook, apply=True)
    assert await open_orders(harness) == []


async def test_concurrent_applies_place_each_order_once(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    results = await asyncio.gather(
        harness.reconciler().run(playbook, apply=True),
        harness.reconciler().run(playbook, apply=True),
        return_exceptions=True,
    )
    outcomes = [r if isinstance(r, BaseException) else r.outcome for r in results]
    assert any(o == "applied" for o in outcomes), outcomes
    ids = [o.client_order_id for o in await open_orders(harness)]
    assert len(ids) == len(set(ids)) == 3


async def test_guard_breach_writes_nothing_and_exits_3(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    strict = dataclasses.replace(
        playbook, guards=dataclasses.replace(playbook.guards, max_order_notional=Decimal(100))
    )
    result = await harness.reconciler().run(strict, apply=True)
    assert result.outcome == "blocked"
    assert result.exit_code == 3
    assert await open_orders(harness) == []


async def test_halt_cancels_our_entries_and_places_none(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    assert (await harness.reconciler().run(playbook, apply=True)).outcome == "applied"
    halted = dataclasses.replace(playbook, halt=True)
    result = await harness.reconciler().run(halted, apply=True)
    assert result.outcome == "applied"
    assert await open_orders(harness) == []
    assert (await harness.reconciler().run(halted, apply=False)).outcome == "in_sync"


async def test_many_missing_entries_are_settled_from_the_completed_order_list(
    harness: Harness, tmp_path: Path
) -> None:
    """More than a handful of missing ids: one listing of completed orders, not N lookups."""
    entries = "\n".join(
        f"      - {{key: e{i}, side: BUY, type: LIMIT, price: {2900 - 10 * i}, quantity: 0.01}}"
        for i in range(8)
    )
    path = tmp_path / "ladder.yaml"
    path.write_text(
        "version: 1\nname: ladder\nsymbols:\n  PERP_ETH_USDC:\n    margin_mode: CROSS\n"
        f"    leverage: 5\n    orders:\n{entries}\n"
    )
    playbook = load_playbook(path)
    assert (await harness.reconciler().run(playbook, apply=True)).outcome == "applied"
    await harness.admin.set_price("PERP_ETH_USDC", Decimal(2875))  # fills e0, e1, e2
    spec = playbook.symbols[0]
    cancelled = [client_order_id("ladder", spec.symbol, spec.margin_mode, o) for o in spec.orders]
    async with harness.client() as client:
        await client.cancel_orders_by_client_id(cancelled[3:7])
    reconciler = harness.reconciler()
    before = reconciler.exchange.client.request_count
    result = await reconciler.run(playbook, apply=False)
    lookups = reconciler.exchange.client.request_count - before
    placed = {a.key for a in result.plan.actions if a.type == ActionType.PLACE_ORDER}
    assert placed == {"e3", "e4", "e5", "e6"}  # cancelled ones come back, filled ones do not
    assert lookups <= 8  # six reads + one completed-order listing (+ cached rules)


async def test_a_run_killed_mid_apply_is_closed_by_the_next_apply(harness: Harness) -> None:
    playbook = shipped("quickstart.yaml")
    killed = harness.journal.start_run(
        playbook=playbook.name,
        playbook_path=playbook.source,
        account_id=harness.account_id,
        network="sim",
        mode="apply",
        git_commit=None,
        git_dirty=None,
    )
    assert (await harness.reconciler().run(playbook, apply=True)).outcome == "applied"
    record = harness.journal.run(killed)
    assert record is not None
    assert record.outcome == "failed"
    assert record.error is not None and "abandoned" in record.error

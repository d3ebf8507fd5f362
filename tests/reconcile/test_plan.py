"""The pure planner against hand-built account states."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from runner.enums import MarginMode, OrderStatus, OrderType, Side
from runner.playbook.ids import client_order_id
from runner.playbook.model import Guards, SymbolSpec
from runner.reconcile.actions import ActionType, SlotStatus
from runner.reconcile.plan import build_plan
from runner.reconcile.state import AccountState, OpenOrder, OrderHistory, PositionState

from .factories import BTC, ETH, entry, eth_isolated, playbook, state

ISO = MarginMode.ISOLATED


def resting(pb_name: str, spec: SymbolSpec, order_index: int = 0, order_id: int = 1) -> OpenOrder:
    o = spec.orders[order_index]
    return OpenOrder(
        order_id=order_id,
        client_order_id=client_order_id(pb_name, spec.symbol, spec.margin_mode, o),
        symbol=spec.symbol,
        margin_mode=spec.margin_mode,
        side=o.side,
        type=o.type,
        price=o.price,
        quantity=o.quantity,
    )


def synced_state(pb_name: str, spec: SymbolSpec) -> AccountState:
    """The account exactly as `spec` wants it: leverage, default mode, every entry resting."""
    return state(
        orders=tuple(resting(pb_name, spec, i, i + 1) for i in range(len(spec.orders))),
        leverages={spec.slot: spec.leverage},
        default_modes={spec.symbol: spec.margin_mode},
    )


def test_empty_account_gets_leverage_then_entries_in_wave_order() -> None:
    pb = playbook(eth_isolated(entry("a", "2700"), entry("b", "2550")))
    plan = build_plan(pb, state())
    types = [a.type for a in plan.actions]
    assert types == [
        ActionType.SET_MARGIN_MODE,
        ActionType.SET_LEVERAGE,
        ActionType.PLACE_ORDER,
        ActionType.PLACE_ORDER,
    ]
    assert {a.client_order_id for a in plan.actions_of(ActionType.PLACE_ORDER)} == {
        client_order_id("test", ETH, ISO, o) for o in pb.symbols[0].orders
    }


def test_account_matching_the_playbook_plans_nothing() -> None:
    spec = eth_isolated(entry("a", "2700"))
    plan = build_plan(playbook(spec), synced_state("test", spec))
    assert plan.actions == ()
    assert plan.conditions[0].status == SlotStatus.IN_SYNC


def test_foreign_orders_are_reported_and_never_touched() -> None:
    spec = eth_isolated(entry("a", "2700"))
    foreign = OpenOrder(99, "manual-1", ETH, ISO, Side.BUY, OrderType.LIMIT, D("2600"), D("1"))
    no_id = OpenOrder(
        98, None, BTC, MarginMode.CROSS, Side.SELL, OrderType.LIMIT, D("99000"), D("1")
    )
    # an order of playbook "test-2" starts with "test-" too: it must not be claimed by "test"
    other_pb = resting("test-2", spec, order_id=97)
    synced = synced_state("test", spec)
    st = dataclasses.replace(synced, open_orders=(*synced.open_orders, foreign, no_id, other_pb))
    plan = build_plan(playbook(spec), st)
    assert plan.actions == ()
    assert {u.order_id for u in plan.unmanaged} == {97, 98, 99}


def test_filled_entry_is_done_unless_it_repeats() -> None:
    spec = eth_isolated(entry("a", "2700"))
    coid = client_order_id("test", ETH, ISO, spec.orders[0])
    filled = {coid: OrderHistory(coid, OrderStatus.FILLED, D("0.05"))}
    st = state(leverages={spec.slot: 5}, default_modes={ETH: ISO}, order_history=filled)
    assert build_plan(playbook(spec), st).actions == ()

    repeating = eth_isolated(entry("a", "2700", repeat=True))
    plan = build_plan(playbook(repeating), st)
    assert [a.type for a in plan.actions] == [ActionType.PLACE_ORDER]
    assert "repeats" in plan.actions[0].reason


def test_cancelled_limit_entry_is_placed_again_but_a_cancelled_ioc_is_done() -> None:
    limit = eth_isolated(entry("a", "2700"))
    ioc = eth_isolated(entry("a", "2700", type=OrderType.IOC))
    for spec, expected in ((limit, 1), (ioc, 0)):
        coid = client_order_id("test", ETH, ISO, spec.orders[0])
        st = state(
            leverages={spec.slot: 5},
            default_modes={ETH: ISO},
            order_history={coid: OrderHistory(coid, OrderStatus.CANCELLED)},
        )
        assert len(build_plan(playbook(spec), st).actions) == expected


def test_partly_filled_then_cancelled_entry_is_not_placed_again() -> None:
    spec = eth_isolated(entry("a", "2700", qty="1"))
    coid = client_order_id("test", ETH, ISO, spec.orders[0])
    history = {coid: OrderHistory(coid, OrderStatus.CANCELLED, D("0.4"))}
    st = state(leverages={spec.slot: 5}, default_modes={ETH: ISO}, order_history=history)
    assert build_plan(playbook(spec), st).actions == ()


def test_changed_spec_cancels_the_old_order_and_places_the_new_one() -> None:
    old = eth_isolated(entry("a", "2700"))
    new = eth_isolated(entry("a", "2650"))
    st = synced_state("test", old)
    plan = build_plan(playbook(new), st)
    assert [a.type for a in plan.actions] == [ActionType.CANCEL_ORDER, ActionType.PLACE_ORDER]
    assert "changed" in plan.actions[0].reason
    assert plan.actions[1].price == D("2650")


def test_orders_of_a_removed_symbol_are_cancelled() -> None:
    old = eth_isolated(entry("a", "2700"))
    btc = SymbolSpec(BTC, MarginMode.CROSS, 3)
    st = dataclasses.replace(synced_state("test", old), leverages={btc.slot: 3})
    plan = build_plan(playbook(btc), st)
    cancels = plan.actions_of(ActionType.CANCEL_ORDER)
    assert len(cancels) == 1
    assert cancels[0].symbol == ETH


def test_halt_cancels_entries_places_nothing_and_keeps_leverage() -> None:
    spec = eth_isolated(entry("a", "2700"), entry("b", "2600"), leverage=10)
    st = state(
        orders=(resting("test", spec, 0, 1),),
        leverages={spec.slot: 5},
        default_modes={ETH: ISO},
    )
    plan = build_plan(playbook(spec, halt=True), st)
    assert [a.type for a in plan.actions] == [ActionType.CANCEL_ORDER]
    assert plan.halted


def test_isolated_leverage_change_is_blocked_by_an_isolated_position() -> None:
    spec = eth_isolated(entry("a", "2700"), leverage=10)
    position = PositionState(ETH, ISO, D("1"), D("3000"), D("3000"), D("3000"), margin=D("600"))
    st = state(leverages={spec.slot: 5}, positions=(position,), default_modes={ETH: ISO})
    plan = build_plan(playbook(spec), st)
    condition = plan.conditions[0]
    assert condition.status == SlotStatus.BLOCKED
    assert "isolated position" in condition.blockers[0].reason
    assert not plan.actions_of(ActionType.SET_LEVERAGE)
    # no new entry at a leverage the playbook did not declare
    assert not plan.actions_of(ActionType.PLACE_ORDER)


def test_isolated_leverage_change_replaces_our_own_resting_orders() -> None:
    spec = eth_isolated(entry("a", "2700"), leverage=10)
    st = state(orders=(resting("test", spec),), leverages={spec.slot: 5}, default_modes={ETH: ISO})
    plan = build_plan(playbook(spec), st)
    assert [a.type for a in plan.actions] == [
        ActionType.CANCEL_ORDER,
        ActionType.SET_LEVERAGE,
        ActionType.PLACE_ORDER,
    ]


def test_leverage_above_the_symbol_maximum_is_blocked() -> None:
    spec = SymbolSpec(ETH, MarginMode.CROSS, 100)
    rules = dict(state().rules)
    rules[ETH] = dataclasses.replace(rules[ETH], base_imr=D("0.05"))
    plan = build_plan(playbook(spec), dataclasses.replace(state(), rules=rules))
    assert "at most 20x" in plan.conditions[0].blockers[0].reason


def test_entry_below_the_minimum_notional_is_blocked_with_a_fix() -> None:
    spec = eth_isolated(entry("tiny", "2700", qty="0.001"))
    plan = build_plan(playbook(spec), state(leverages={spec.slot: 5}, default_modes={ETH: ISO}))
    blocker = plan.conditions[0].blockers[0]
    assert "below the minimum 10" in blocker.reason
    assert plan.actions == ()


def test_prices_are_rounded_passively_to_the_tick() -> None:
    buy = eth_isolated(entry("b", "2700.019"))
    plan = build_plan(playbook(buy), state(leverages={buy.slot: 5}, default_modes={ETH: ISO}))
    assert plan.actions[0].price == D("2700.01")
    sell = eth_isolated(entry("s", "3300.011", side=Side.SELL))
    plan = build_plan(playbook(sell), state(leverages={sell.slot: 5}, default_modes={ETH: ISO}))
    assert plan.actions[0].price == D("3300.02")


def test_guard_breach_blocks_the_plan() -> None:
    spec = eth_isolated(entry("a", "2700", qty="2"))
    guards = Guards(max_order_notional=D("1000"))
    plan = build_plan(playbook(spec, guards=guards), state())
    assert plan.blocked_by_guard
    assert "max_order_notional" in plan.guard_violations[0]


def test_isolated_margin_guard_counts_entries_as_if_filled() -> None:
    spec = eth_isolated(entry("a", "2700", qty="1"), leverage=5)  # 540 USDC of margin if filled
    plan = build_plan(playbook(spec, guards=Guards(max_isolated_margin=D("500"))), state())
    assert any("max_isolated_margin" in v for v in plan.guard_violations)
    plan = build_plan(playbook(spec, guards=Guards(max_isolated_margin=D("600"))), state())
    assert not plan.guard_violations


def test_margin_rule_adds_margin_when_liquidation_is_too_close() -> None:
    spec = eth_isolated(entry("a", "2700"))
    position = PositionState(ETH, ISO, D("1"), D("3000"), D("3000"), D("3000"), margin=D("400"))
    st = state(
        orders=(resting("test", spec),),
        leverages={spec.slot: 5},
        positions=(position,),
        default_modes={ETH: ISO},
    )
    plan = build_plan(playbook(spec), st)
    (add,) = plan.actions_of(ActionType.ADJUST_MARGIN)
    assert add.adjustment is not None and add.adjustment.value == "ADD"
    assert add.distance_after is not None and add.distance_after >= D("19.99")
    assert add.amount == add.amount.quantize(D("0.01"))


def test_daily_budget_spent_is_a_loud_blocker_not_silence() -> None:
    spec = eth_isolated(entry("a", "2700"))
    position = PositionState(ETH, ISO, D("1"), D("3000"), D("3000"), D("3000"), margin=D("400"))
    st = state(
        orders=(resting("test", spec),),
        leverages={spec.slot: 5},
        positions=(position,),
        default_modes={ETH: ISO},
        margin_added_today=D("500"),
    )
    plan = build_plan(playbook(spec, guards=Guards(max_margin_added_per_day=D("500"))), st)
    assert not plan.actions_of(ActionType.ADJUST_MARGIN)
    assert plan.conditions[0].status == SlotStatus.BLOCKED


def test_stress_rows_show_what_the_rule_saves() -> None:
    spec = eth_isolated(entry("a", "2700"), leverage=10)
    # a 10x long: liq about 9.5% under the mark
    position = PositionState(ETH, ISO, D("1"), D("3000"), D("3000"), D("3000"), margin=D("300"))
    st = state(
        orders=(resting("test", spec),),
        leverages={spec.slot: 10},
        positions=(position,),
        default_modes={ETH: ISO},
    )
    risk = build_plan(playbook(spec), st).conditions[0].risk
    assert risk is not None
    rows = {int(r.move_pct): r for r in risk.stress}
    assert rows[20].survives_without_rule is False
    assert rows[20].survives_with_rule is True  # 10,000 USDC free: the rule can add enough


def test_an_isolated_slot_without_a_position_is_stressed_as_if_its_entries_filled() -> None:
    spec = eth_isolated(entry("a", "2900", qty="1"), leverage=20, rule=False)
    risk = build_plan(playbook(spec), state()).conditions[0].risk
    assert risk is not None
    assert risk.projected_qty == 1
    assert [r.survives_without_rule for r in risk.stress] == [True, False, False]
    assert all(r.survives_with_rule is None for r in risk.stress)  # no rule declared

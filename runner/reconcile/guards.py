"""Guards: the playbook's hard limits, checked on the state a plan would produce.

Pure, like the planner that calls it: a breach is returned as a sentence naming the guard,
the value the plan would reach and the limit, and the planner refuses the whole plan.
"""

from __future__ import annotations

from decimal import Decimal

from runner.enums import MarginAdjustment, MarginMode, OrderType, Side
from runner.playbook.ids import is_ours
from runner.playbook.model import Playbook, SymbolSpec
from runner.reconcile.actions import Action, ActionType
from runner.reconcile.state import AccountState

ONE_SHOT_TYPES = (OrderType.MARKET, OrderType.IOC, OrderType.FOK)


def check_guards(playbook: Playbook, state: AccountState, actions: list[Action]) -> list[str]:
    """Guards checked on the state the plan would produce. Any breach blocks the whole plan."""
    guards = playbook.guards
    violations: list[str] = []
    places = [a for a in actions if a.type == ActionType.PLACE_ORDER]
    if guards.max_order_notional is not None:
        for a in places:
            if a.notional is not None and a.notional > guards.max_order_notional:
                violations.append(
                    f"max_order_notional: {a.symbol} entry '{a.key}' is {a.notional:.2f} USDC, "
                    f"above the guard {guards.max_order_notional}"
                )
    if guards.max_open_orders is not None:
        cancelled = {a.order_id for a in actions if a.type == ActionType.CANCEL_ORDER}
        resting_ours = [
            o
            for o in state.open_orders
            if is_ours(playbook.name, o.client_order_id) and o.order_id not in cancelled
        ]
        resting_new = [a for a in places if a.order_type not in ONE_SHOT_TYPES]
        total = len(resting_ours) + len(resting_new)
        if total > guards.max_open_orders:
            violations.append(
                f"max_open_orders: the plan would leave {total} open orders, "
                f"above the guard {guards.max_open_orders}"
            )
    if guards.max_position_notional is not None:
        for spec in playbook.symbols:
            qty = _projected_qty(spec, state, actions)
            mark = state.marks.get(spec.symbol)
            if mark is None or not any(a.symbol == spec.symbol for a in places):
                continue
            notional = abs(qty) * mark
            if notional > guards.max_position_notional:
                violations.append(
                    f"max_position_notional: {spec.symbol} {spec.margin_mode.value} would reach "
                    f"{notional:.2f} USDC if every entry fills, above the guard "
                    f"{guards.max_position_notional}"
                )
    if guards.max_isolated_margin is not None:
        projected = _projected_isolated_margin(playbook, state, actions)
        adds = any(
            a.margin_mode == MarginMode.ISOLATED
            and a.type in (ActionType.PLACE_ORDER, ActionType.ADJUST_MARGIN)
            for a in actions
        )
        if adds and projected > guards.max_isolated_margin:
            violations.append(
                f"max_isolated_margin: isolated margin would reach {projected:.2f} USDC if "
                f"every entry fills, above the guard {guards.max_isolated_margin}"
            )
    return violations


def _projected_qty(spec: SymbolSpec, state: AccountState, actions: list[Action]) -> Decimal:
    """The position if every resting or planned entry of the slot fills (worst side)."""
    position = state.position(spec.slot)
    qty = position.qty if position else Decimal(0)
    buys, sells = _pending_entries(spec, state, actions)
    return max(qty + buys, qty - sells, key=abs)


def _pending_entries(
    spec: SymbolSpec, state: AccountState, actions: list[Action]
) -> tuple[Decimal, Decimal]:
    cancelled = {a.order_id for a in actions if a.type == ActionType.CANCEL_ORDER}
    buys = sells = Decimal(0)
    for o in state.orders_in(spec.symbol, spec.margin_mode):
        if o.order_id in cancelled or o.reduce_only:
            continue
        remaining = o.quantity - o.executed
        if o.side == Side.BUY:
            buys += remaining
        else:
            sells += remaining
    for a in actions:
        if a.type != ActionType.PLACE_ORDER or a.slot_key != spec.slot or a.reduce_only:
            continue
        if a.side == Side.BUY:
            buys += a.quantity or 0
        else:
            sells += a.quantity or 0
    return buys, sells


def _projected_isolated_margin(
    playbook: Playbook, state: AccountState, actions: list[Action]
) -> Decimal:
    total = Decimal(0)
    for spec in playbook.symbols:
        if spec.margin_mode != MarginMode.ISOLATED:
            continue
        position = state.position(spec.slot)
        margin = position.margin if position else Decimal(0)
        for a in actions:
            if a.type == ActionType.ADJUST_MARGIN and a.slot_key == spec.slot and a.amount:
                margin += a.amount if a.adjustment == MarginAdjustment.ADD else -a.amount
        mark = state.marks.get(spec.symbol, Decimal(0))
        qty_now = abs(position.qty) if position else Decimal(0)
        added = abs(_projected_qty(spec, state, actions)) - qty_now
        if added > 0:
            margin += added * mark / Decimal(spec.leverage)
        total += margin
    return total

"""Plan: a pure function from (playbook, observed account state) to ordered actions.

No I/O, no clock, no randomness: everything the plan knows comes in as values, so the same
inputs always give the same plan and the planner can be tested exhaustively. Semantics are
those of DESIGN.md §4: our orders are recognised by their deterministic client_order_id and
nothing else is ever touched; a declared entry that filled is done unless it says `repeat`; a
changed spec means cancel and replace; a step Orderly forbids in the current state is reported
as blocked, not attempted; guards are checked on the state the plan would produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from runner.enums import MarginMode, OrderStatus, Side
from runner.playbook.ids import client_order_id, is_ours, order_key_of
from runner.playbook.model import OrderSpec, Playbook, SymbolSpec
from runner.reconcile.actions import (
    Action,
    ActionType,
    Blocker,
    Plan,
    SlotCondition,
    SlotRisk,
    SlotStatus,
    UnmanagedOrder,
)
from runner.reconcile.guards import ONE_SHOT_TYPES, check_guards
from runner.reconcile.margin_plan import MarginBudget, plan_margin, slot_risk
from runner.reconcile.state import AccountState, OpenOrder, SymbolRules


@dataclass(slots=True)
class _SlotWork:
    """What the planner decided for one slot, before it is frozen into a condition."""

    spec: SymbolSpec
    actions: list[Action] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    risk: SlotRisk | None = None


def build_plan(playbook: Playbook, state: AccountState) -> Plan:
    """Compute the actions that make `state` match `playbook`."""
    slots = [_SlotWork(spec) for spec in playbook.symbols]
    budget = MarginBudget.from_guards(
        playbook.guards, state, _playbook_isolated_margin(playbook, state)
    )
    cancels = _plan_stray_orders(playbook, state)

    for work in slots:
        spec = work.spec
        rules = state.rules.get(spec.symbol)
        if rules is None:
            work.blockers.append(
                Blocker(
                    what=spec.symbol,
                    reason="the exchange does not list this symbol",
                    unblock="check the symbol name against `/v1/public/info`",
                )
            )
            continue
        _plan_margin_mode(playbook, spec, state, work)
        blockers_before = len(work.blockers)
        replace_for_leverage = _plan_leverage(playbook, spec, rules, state, work)
        leverage_blocked = len(work.blockers) > blockers_before
        _plan_orders(playbook, spec, rules, state, work, replace_for_leverage, leverage_blocked)
        if spec.margin_mode == MarginMode.ISOLATED:
            plan_margin(spec, rules, state, budget, work.actions, work.blockers, work.notes)
        work.risk = slot_risk(spec, rules, state, work.actions, budget)

    actions = [*cancels, *(a for w in slots for a in w.actions)]
    actions.sort(key=lambda a: a.wave)  # stable: keeps playbook order inside a wave
    violations = check_guards(playbook, state, actions)
    conditions = tuple(_condition(w) for w in slots)
    return Plan(
        playbook=playbook.name,
        account_id=state.account_id,
        network=playbook.network,
        actions=tuple(actions),
        conditions=conditions,
        unmanaged=tuple(_unmanaged(playbook, state.open_orders)),
        guard_violations=tuple(violations),
        halted=playbook.halt,
        marks={s: state.marks[s] for s in playbook.symbol_names if s in state.marks},
        observed_at_ms=state.observed_at_ms,
    )


def _playbook_isolated_margin(playbook: Playbook, state: AccountState) -> Decimal:
    return sum(
        (
            p.margin
            for spec in playbook.symbols
            if spec.margin_mode == MarginMode.ISOLATED
            and (p := state.position(spec.slot)) is not None
        ),
        Decimal(0),
    )


def _condition(work: _SlotWork) -> SlotCondition:
    if work.blockers:
        status = SlotStatus.BLOCKED
    elif work.actions:
        status = SlotStatus.DRIFT
    else:
        status = SlotStatus.IN_SYNC
    return SlotCondition(
        symbol=work.spec.symbol,
        margin_mode=work.spec.margin_mode,
        status=status,
        drift=tuple(work.drift),
        blockers=tuple(work.blockers),
        notes=tuple(work.notes),
        risk=work.risk,
    )


def _unmanaged(playbook: Playbook, orders: Iterable[OpenOrder]) -> list[UnmanagedOrder]:
    return [
        UnmanagedOrder(
            order_id=o.order_id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            margin_mode=o.margin_mode,
            side=o.side,
            price=o.price,
            quantity=o.quantity,
        )
        for o in orders
        if not is_ours(playbook.name, o.client_order_id)
    ]


def _cancel(order: OpenOrder, reason: str) -> Action:
    return Action(
        type=ActionType.CANCEL_ORDER,
        symbol=order.symbol,
        margin_mode=order.margin_mode,
        reason=reason,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        side=order.side,
        order_type=order.type,
        price=order.price,
        quantity=order.quantity,
        reduce_only=order.reduce_only,
    )


def _plan_stray_orders(playbook: Playbook, state: AccountState) -> list[Action]:
    """Our orders in a (symbol, mode) the playbook no longer declares: cancel them."""
    declared = {spec.slot for spec in playbook.symbols}
    return [
        _cancel(
            o,
            f"order '{order_key_of(playbook.name, o.client_order_id or '')}' is ours but "
            f"{o.symbol} {o.margin_mode.value} is no longer in the playbook",
        )
        for o in state.open_orders
        if is_ours(playbook.name, o.client_order_id) and (o.symbol, o.margin_mode) not in declared
    ]


def _plan_margin_mode(
    playbook: Playbook, spec: SymbolSpec, state: AccountState, work: _SlotWork
) -> None:
    """Set the symbol's default mode when the playbook declares only one mode for it.

    Our orders always name their margin_mode, so the default only decides what the exchange's
    own UI and mode-less clients use; a symbol declared in both modes keeps its default."""
    if sum(1 for s in playbook.symbols if s.symbol == spec.symbol) != 1:
        return
    current = state.default_modes.get(spec.symbol, MarginMode.CROSS)
    if current == spec.margin_mode:
        return
    what = f"default margin mode {current.value} -> {spec.margin_mode.value}"
    in_current_mode = state.position((spec.symbol, current)) is not None
    pending = [
        o
        for o in state.orders_in(spec.symbol, current)
        if not is_ours(playbook.name, o.client_order_id)
    ]
    if in_current_mode or pending:
        held_by = "an open position" if in_current_mode else f"{len(pending)} open order(s)"
        work.blockers.append(
            Blocker(
                what=what,
                reason=f"Orderly refuses a mode switch while {spec.symbol} has {held_by} "
                f"in {current.value} mode",
                unblock=f"close the {current.value} position or cancel those orders; orders of "
                "this playbook still use the declared mode",
            )
        )
        return
    work.drift.append(what)
    work.actions.append(
        Action(
            type=ActionType.SET_MARGIN_MODE,
            symbol=spec.symbol,
            margin_mode=spec.margin_mode,
            reason=f"the playbook trades {spec.symbol} in {spec.margin_mode.value} only",
            mode_before=current,
        )
    )


def max_notional_for_leverage(rules: SymbolRules, leverage: int) -> Decimal | None:
    """Largest position notional Orderly allows at `leverage` (orderly-api.md §5.5)."""
    if rules.imr_factor <= 0:
        return None
    base = Decimal(1) / (Decimal(leverage) * rules.imr_factor)
    return Decimal(base ** Decimal("1.25"))


def _plan_leverage(
    playbook: Playbook,
    spec: SymbolSpec,
    rules: SymbolRules,
    state: AccountState,
    work: _SlotWork,
) -> bool:
    """Plan the leverage of the slot. Returns True when our resting orders of the slot must be
    cancelled and placed again so that an isolated leverage change is allowed."""
    current = state.leverages.get(spec.slot)
    desired = spec.leverage
    if current == desired:
        return False
    what = f"leverage {f'{current}x' if current is not None else 'unset'} -> {desired}x"
    if desired > rules.max_leverage:
        work.blockers.append(
            Blocker(
                what=what,
                reason=f"{spec.symbol} allows at most {rules.max_leverage}x",
                unblock=f"set leverage to {rules.max_leverage} or less in the playbook",
            )
        )
        return False
    if playbook.halt and current is not None and desired > current:
        work.notes.append(f"halted: leverage stays {current}x (raising it would add risk)")
        return False
    position = state.position(spec.slot)
    replace_ours = False
    if spec.margin_mode == MarginMode.ISOLATED:
        slot_orders = state.orders_in(spec.symbol, MarginMode.ISOLATED)
        foreign = [o for o in slot_orders if not is_ours(playbook.name, o.client_order_id)]
        if position is not None or foreign:
            held_by = (
                "an open isolated position"
                if position is not None
                else (f"{len(foreign)} isolated order(s) not managed by this playbook")
            )
            work.blockers.append(
                Blocker(
                    what=what,
                    reason=f"Orderly refuses an isolated leverage change while {spec.symbol} "
                    f"has {held_by}",
                    unblock="close the isolated position and cancel its orders, or declare the "
                    "leverage the position has" + (f" ({current}x)" if current is not None else ""),
                )
            )
            return False
        replace_ours = bool(slot_orders)
    elif position is not None:
        limit = max_notional_for_leverage(rules, desired)
        if limit is not None and position.notional > limit:
            work.blockers.append(
                Blocker(
                    what=what,
                    reason=f"the position's notional {position.notional:.2f} exceeds the "
                    f"{limit:.2f} Orderly allows at {desired}x",
                    unblock="reduce the position or choose a lower leverage",
                )
            )
            return False
    work.drift.append(what)
    work.actions.append(
        Action(
            type=ActionType.SET_LEVERAGE,
            symbol=spec.symbol,
            margin_mode=spec.margin_mode,
            reason=f"the playbook sets {spec.symbol} {spec.margin_mode.value} to {desired}x",
            leverage_before=current,
            leverage_after=desired,
        )
    )
    return replace_ours


def _entry_done(order: OrderSpec, status: OrderStatus | None, filled_any: bool) -> bool:
    """A declared entry that is not resting: is it finished, or should it be placed?"""
    if order.repeat or status is None:
        return False
    if filled_any:
        return True  # filled, even partly: placing again would overshoot the declared size
    # A one-shot order (MARKET/IOC/FOK) had its one chance; a resting type that was cancelled
    # (by hand, by the exchange's price-range rule, by a liquidation) is placed again.
    return order.type in ONE_SHOT_TYPES


def _plan_orders(
    playbook: Playbook,
    spec: SymbolSpec,
    rules: SymbolRules,
    state: AccountState,
    work: _SlotWork,
    replace_for_leverage: bool,
    leverage_blocked: bool,
) -> None:
    desired = {
        client_order_id(playbook.name, spec.symbol, spec.margin_mode, o): o for o in spec.orders
    }
    ours_open = [
        o
        for o in state.orders_in(spec.symbol, spec.margin_mode)
        if is_ours(playbook.name, o.client_order_id)
    ]
    open_ids = set()
    for o in ours_open:
        coid = o.client_order_id or ""
        declared = desired.get(coid)
        key = order_key_of(playbook.name, coid)
        if declared is None:
            same_key = any(d.key == key for d in desired.values())
            reason = (
                f"order '{key}' changed in the playbook: replacing it"
                if same_key
                else f"order '{key}' is no longer in the playbook"
            )
        elif playbook.halt and not declared.reduce_only:
            reason = f"halted: entry '{key}' is cancelled"
        elif replace_for_leverage:
            reason = f"entry '{key}' is re-placed so the isolated leverage can change"
        else:
            open_ids.add(coid)
            continue
        work.drift.append(f"cancel {key}")
        work.actions.append(_cancel(o, reason))

    mark = state.marks.get(spec.symbol)
    for coid, order in desired.items():
        if coid in open_ids:
            continue
        history = state.order_history.get(coid)
        if _entry_done(
            order,
            history.status if history else None,
            history.filled_any if history else False,
        ):
            work.notes.append(
                f"entry '{order.key}' is done ({history.status.value.lower()})"
                if history
                else f"entry '{order.key}' is done"
            )
            continue
        if playbook.halt and not order.reduce_only:
            work.notes.append(f"halted: entry '{order.key}' is not placed")
            continue
        if order.reduce_only and not _reduces(state, spec, order.side):
            # Orderly rejects a reduce-only order that would not reduce a position.
            work.notes.append(f"reduce-only '{order.key}' waits for a position to reduce")
            continue
        if leverage_blocked and not order.reduce_only:
            # An entry placed now would open risk at a leverage the playbook did not declare.
            work.notes.append(f"entry '{order.key}' waits until the leverage can be set")
            continue
        action = _place(spec, rules, mark, coid, order, history is not None, work)
        if action is not None:
            work.drift.append(f"place {order.key}")
            work.actions.append(action)


def _reduces(state: AccountState, spec: SymbolSpec, side: Side) -> bool:
    position = state.position(spec.slot)
    if position is None:
        return False
    return (position.qty > 0) == (side == Side.SELL)


def _place(
    spec: SymbolSpec,
    rules: SymbolRules,
    mark: Decimal | None,
    coid: str,
    order: OrderSpec,
    seen_before: bool,
    work: _SlotWork,
) -> Action | None:
    """The place action for one entry, rounded to the symbol's grid, or a blocker."""
    what = f"place {order.key}"
    price = rules.round_price(order.price, order.side) if order.price is not None else None
    quantity = rules.round_quantity(order.quantity)
    reference = price if price is not None else mark
    problem = None
    if quantity <= 0 or quantity > rules.base_max:
        problem = (
            f"quantity {order.quantity} is outside {rules.base_min}..{rules.base_max}",
            f"use a quantity between {rules.base_min} and {rules.base_max} "
            f"in steps of {rules.base_tick}",
        )
    elif reference is not None and reference * quantity < rules.min_notional:
        problem = (
            f"notional {reference * quantity:.2f} is below the minimum {rules.min_notional}",
            "raise the quantity or the price",
        )
    elif price is not None and mark is not None:
        # orderly-api.md §4.3: a BUY may not sit more than price_range above the mark (a SELL
        # below it), nor more than price_scope below it (a SELL above it); both are -1105.
        low, high = mark * (1 - rules.price_scope), mark * (1 + rules.price_scope)
        if (order.side == Side.BUY and price < low) or (order.side == Side.SELL and price > high):
            problem = (
                f"price {price} is more than {rules.price_scope * 100:.0f}% from the mark "
                f"{mark}: Orderly rejects it",
                "move the price closer to the market",
            )
        elif (order.side == Side.BUY and price > mark * (1 + rules.price_range)) or (
            order.side == Side.SELL and price < mark * (1 - rules.price_range)
        ):
            where = "above" if order.side == Side.BUY else "below"
            problem = (
                f"the market moved through the entry: {order.side} {price} is more than "
                f"{rules.price_range * 100:g}% {where} the mark {mark}, which Orderly rejects",
                "wait for the market to come back, or move the price",
            )
    if problem is not None:
        work.blockers.append(Blocker(what=what, reason=problem[0], unblock=problem[1]))
        return None
    if price is not None and price != order.price:
        work.notes.append(f"entry '{order.key}': price {order.price} rounded to tick -> {price}")
    reason = (
        f"entry '{order.key}' is declared and not resting"
        if not seen_before
        else f"entry '{order.key}' is declared and is no longer resting"
    )
    if order.repeat and seen_before:
        reason = f"entry '{order.key}' repeats after its fill"
    return Action(
        type=ActionType.PLACE_ORDER,
        symbol=spec.symbol,
        margin_mode=spec.margin_mode,
        reason=reason,
        client_order_id=coid,
        key=order.key,
        side=order.side,
        order_type=order.type,
        price=price,
        quantity=quantity,
        reduce_only=order.reduce_only,
        visible_quantity=order.visible_quantity,
        notional=(reference * quantity) if reference is not None else None,
    )

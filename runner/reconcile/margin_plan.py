"""The planner's side of the margin rules: budgets shared across slots, margin actions, risk rows.

`margin.py` and `margin_rules.py` hold the maths; this module feeds them the observed state and
the playbook's guards, turns their decisions into plan actions and blockers, and computes the
risk rows the plan shows (now, if every entry fills, and under 5/10/20% adverse moves). Pure:
no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from runner.enums import MarginAdjustment, MarginMode, Side
from runner.playbook.model import Guards, SymbolSpec
from runner.reconcile.actions import Action, ActionType, Blocker, SlotRisk, StressRow
from runner.reconcile.margin import (
    SymbolRisk,
    adverse_distance_pct,
    isolated_liq_price,
    max_add,
)
from runner.reconcile.margin_position import (
    IsolatedPosition,
    liq_price_now,
    position_max_reduce,
    project_margin,
    stress,
)
from runner.reconcile.margin_rules import (
    MarginLimits,
    evaluate_margin_rule,
    margin_rule_from_spec,
)
from runner.reconcile.state import AccountState, PositionState, SymbolRules

STRESS_MOVES = (Decimal(5), Decimal(10), Decimal(20))


@dataclass(slots=True)
class MarginBudget:
    """Limits shared by every slot of one plan; each planned ADD consumes them."""

    exchange_max_add: Decimal
    budget_left: Decimal | None
    isolated_headroom: Decimal | None
    free_collateral_headroom: Decimal | None

    @classmethod
    def from_guards(
        cls, guards: Guards, state: AccountState, playbook_isolated_margin: Decimal
    ) -> MarginBudget:
        return cls(
            exchange_max_add=max_add(
                usdc_holding=state.usdc_holding,
                free_collateral=state.free_collateral,
                total_cross_unsettled_pnl=state.cross_unsettled_pnl,
            ),
            budget_left=None
            if guards.max_margin_added_per_day is None
            else max(Decimal(0), guards.max_margin_added_per_day - state.margin_added_today),
            isolated_headroom=None
            if guards.max_isolated_margin is None
            else max(Decimal(0), guards.max_isolated_margin - playbook_isolated_margin),
            free_collateral_headroom=None
            if guards.min_free_collateral is None
            else max(Decimal(0), state.free_collateral - guards.min_free_collateral),
        )

    def spend(self, amount: Decimal) -> None:
        self.exchange_max_add = max(Decimal(0), self.exchange_max_add - amount)
        if self.budget_left is not None:
            self.budget_left = max(Decimal(0), self.budget_left - amount)
        if self.isolated_headroom is not None:
            self.isolated_headroom = max(Decimal(0), self.isolated_headroom - amount)
        if self.free_collateral_headroom is not None:
            self.free_collateral_headroom = max(Decimal(0), self.free_collateral_headroom - amount)

    def release(self, amount: Decimal) -> None:
        """A REDUCE gives isolated headroom back (the daily ADD budget stays spent)."""
        if self.isolated_headroom is not None:
            self.isolated_headroom += amount

    @property
    def available(self) -> Decimal:
        """The most any single ADD could take right now."""
        caps = [self.exchange_max_add]
        caps += [
            c
            for c in (self.budget_left, self.isolated_headroom, self.free_collateral_headroom)
            if c is not None
        ]
        return min(caps)


def symbol_risk(rules: SymbolRules) -> SymbolRisk:
    return SymbolRisk(base_imr=rules.base_imr, base_mmr=rules.base_mmr, imr_factor=rules.imr_factor)


def isolated_position(position: PositionState, leverage: int) -> IsolatedPosition:
    return IsolatedPosition(
        symbol=position.symbol,
        qty=position.qty,
        cost_position=position.cost_position,
        margin=position.margin,
        mark=position.mark_price,
        est_liq_price=position.est_liq_price,
        leverage=position.leverage or leverage,
        unsettled_pnl=position.unsettled_pnl,
    )


def plan_margin(
    spec: SymbolSpec,
    rules: SymbolRules,
    state: AccountState,
    budget: MarginBudget,
    actions: list[Action],
    blockers: list[Blocker],
    notes: list[str],
) -> None:
    """Evaluate the slot's margin rules and append the ADD/REDUCE (or a loud blocker)."""
    position = state.position(spec.slot)
    if spec.margin is None or position is None:
        return
    iso = isolated_position(position, spec.leverage)
    risk = symbol_risk(rules)
    limits = MarginLimits(
        max_add=budget.exchange_max_add,
        max_reduce=position_max_reduce(iso, risk),
        budget_left=budget.budget_left,
        isolated_margin_headroom=budget.isolated_headroom,
        min_free_collateral_headroom=budget.free_collateral_headroom,
    )
    decision = evaluate_margin_rule(iso, risk, margin_rule_from_spec(spec.margin), limits)
    if decision.blocked and decision.demanded == MarginAdjustment.REDUCE:
        # Holding more margin than the rule wants is safe: say it, but it blocks nothing.
        notes.append(decision.message or decision.reason)
    elif decision.blocked:
        blockers.append(
            Blocker(
                what=f"margin rule ({', '.join(decision.triggered_by) or 'margin'})",
                reason=decision.message or decision.reason,
                unblock="add collateral, raise the guard or budget that is spent, or reduce "
                "the position by hand",
            )
        )
    elif decision.constrained_by and decision.action is not None:
        notes.append(
            f"margin {decision.action.value} limited by {', '.join(decision.constrained_by)}"
        )
    if decision.action is None or decision.amount <= 0:
        return
    if decision.action == MarginAdjustment.ADD:
        budget.spend(decision.amount)
    else:
        budget.release(decision.amount)
    actions.append(
        Action(
            type=ActionType.ADJUST_MARGIN,
            symbol=spec.symbol,
            margin_mode=MarginMode.ISOLATED,
            reason=decision.reason,
            adjustment=decision.action,
            amount=decision.amount,
            margin_before=decision.before.margin,
            margin_after=decision.after.margin,
            liq_before=decision.before.liq_price,
            liq_after=decision.after.liq_price,
            distance_before=decision.before.distance_pct,
            distance_after=decision.after.distance_pct,
            mark=position.mark_price,
            budget_left=budget.budget_left,
            notional=position.notional,
        )
    )


def _entries_after(
    spec: SymbolSpec, state: AccountState, actions: list[Action]
) -> list[tuple[Side, Decimal, Decimal]]:
    """(side, quantity, price) of every entry that would rest once the plan is applied."""
    cancelled = {a.order_id for a in actions if a.type == ActionType.CANCEL_ORDER}
    mark = state.marks.get(spec.symbol, Decimal(0))
    entries = [
        (o.side, o.quantity - o.executed, o.price or mark)
        for o in state.orders_in(spec.symbol, spec.margin_mode)
        if o.order_id not in cancelled and not o.reduce_only
    ]
    entries += [
        (a.side, a.quantity, a.price or mark)
        for a in actions
        if a.type == ActionType.PLACE_ORDER
        and a.slot_key == spec.slot
        and not a.reduce_only
        and a.side is not None
        and a.quantity is not None
    ]
    return entries


def slot_risk(
    spec: SymbolSpec,
    rules: SymbolRules,
    state: AccountState,
    actions: list[Action],
    budget: MarginBudget,
) -> SlotRisk:
    """Risk now, after the plan's margin action, if all entries fill, and under stress."""
    position = state.position(spec.slot)
    mark = position.mark_price if position is not None else state.marks.get(spec.symbol)
    isolated = spec.margin_mode == MarginMode.ISOLATED
    risk = symbol_risk(rules)
    qty = position.qty if position else Decimal(0)
    cost = position.cost_position if position else Decimal(0)
    margin = position.margin if position else Decimal(0)
    liq = position.est_liq_price if position else None
    if liq is None and isolated and position is not None:
        liq = liq_price_now(isolated_position(position, spec.leverage), risk)
    adjust = sum(
        (
            (a.amount or Decimal(0)) * (1 if a.adjustment == MarginAdjustment.ADD else -1)
            for a in actions
            if a.type == ActionType.ADJUST_MARGIN and a.slot_key == spec.slot
        ),
        Decimal(0),
    )
    now = SlotRisk(
        mark=mark,
        position_qty=qty,
        notional=abs(qty * mark) if mark is not None else Decimal(0),
        margin=margin if isolated else None,
        est_liq_price=liq,
        liq_distance_pct=adverse_distance_pct(qty=qty, mark=mark, liq_price=liq)
        if position is not None and mark is not None
        else None,
    )
    if mark is None:
        return now
    # Projection: the worst side fills completely at the entries' prices.
    entries = _entries_after(spec, state, actions)
    buys = [(q, p) for s, q, p in entries if s == Side.BUY]
    sells = [(q, p) for s, q, p in entries if s == Side.SELL]
    long_side = abs(qty + sum(q for q, _ in buys))
    fills = buys if long_side >= abs(qty - sum(q for q, _ in sells)) else sells
    sign = Decimal(1) if fills is buys else Decimal(-1)
    p_qty, p_cost, p_margin = qty, cost, margin + adjust
    for q, p in fills:
        p_qty += sign * q
        p_cost += sign * q * p
        if isolated:
            p_margin += q * p / Decimal(spec.leverage)
    p_liq = (
        isolated_liq_price(qty=p_qty, cost_position=p_cost, margin=p_margin, risk=risk, mark=mark)
        if isolated and p_qty != 0
        else None
    )
    stress_rows: tuple[StressRow, ...] = ()
    if isolated and position is not None:
        iso = isolated_position(position, spec.leverage)
        after = project_margin(iso, risk, margin + adjust)
        stress_rows = _stress_rows(
            spec,
            dataclasses.replace(iso, margin=after.margin, est_liq_price=after.liq_price),
            risk,
            budget,
        )
    elif isolated and p_qty != 0:
        # No position yet: stress the one the entries would build, at today's mark.
        projected = IsolatedPosition(
            symbol=spec.symbol,
            qty=p_qty,
            cost_position=p_cost,
            margin=p_margin,
            mark=mark,
            est_liq_price=None,
            leverage=spec.leverage,
            unsettled_pnl=p_qty * mark - p_cost,
        )
        stress_rows = _stress_rows(spec, projected, risk, budget)
    return SlotRisk(
        mark=now.mark,
        position_qty=now.position_qty,
        notional=now.notional,
        margin=now.margin,
        est_liq_price=now.est_liq_price,
        liq_distance_pct=now.liq_distance_pct,
        projected_qty=p_qty,
        projected_notional=abs(p_qty) * mark,
        projected_margin=p_margin if isolated else None,
        projected_liq_price=p_liq,
        projected_distance_pct=adverse_distance_pct(qty=p_qty, mark=mark, liq_price=p_liq)
        if p_qty != 0
        else None,
        stress=stress_rows,
    )


def _stress_rows(
    spec: SymbolSpec, position: IsolatedPosition, risk: SymbolRisk, budget: MarginBudget
) -> tuple[StressRow, ...]:
    """Survives a 5/10/20% adverse move? Without the rule, and with it adding, before the
    move, what it may (collateral, budget, caps)."""
    room: Decimal | None = None
    if spec.margin is not None and spec.margin.liq_distance is not None:
        room = budget.available
        if spec.margin.max_margin is not None:
            room = min(room, max(Decimal(0), spec.margin.max_margin - position.margin))
    rows = []
    for move in STRESS_MOVES:
        with_rule = None
        if room is not None:
            boosted = project_margin(position, risk, position.margin + room)
            with_rule = boosted.distance_pct is None or boosted.distance_pct > move
        rows.append(StressRow(move, stress(position, risk, move), with_rule))
    return tuple(rows)

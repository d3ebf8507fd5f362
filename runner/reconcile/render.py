"""Plans and status for people (plain text with optional colour) and for machines (JSON).

Rendering never decides anything: it shows the Plan exactly as the planner built it. The text
form is a list of lines so that the command line can colour it and tests can read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from runner.reconcile.actions import Action, ActionType, Plan, SlotCondition, SlotStatus

_SIGNS = {
    ActionType.CANCEL_ORDER: "-",
    ActionType.SET_MARGIN_MODE: "~",
    ActionType.SET_LEVERAGE: "~",
    ActionType.ADJUST_MARGIN: "~",
    ActionType.PLACE_ORDER: "+",
}


def money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


def price(value: Decimal | None) -> str:
    """A price or quantity as the user wrote it: no exponent, no trailing zeros."""
    if value is None:
        return "-"
    return format(value.normalize(), "f")


def liq(value: Decimal | None) -> str:
    return "none" if value is None else f"{value:,.2f}"


def pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def describe_action(action: Action) -> str:
    sign = _SIGNS[action.type]
    if action.type == ActionType.PLACE_ORDER:
        at = f" @ {price(action.price)}" if action.price is not None else " at market"
        flags = " reduce-only" if action.reduce_only else ""
        return (
            f"{sign} place {action.key}: {action.side} {action.order_type} "
            f"{price(action.quantity)}{at}{flags}  notional {money(action.notional)}"
        )
    if action.type == ActionType.CANCEL_ORDER:
        at = f" @ {price(action.price)}" if action.price is not None else ""
        return f"{sign} cancel {action.client_order_id}: {action.side} {price(action.quantity)}{at}"
    if action.type == ActionType.SET_LEVERAGE:
        before = f"{action.leverage_before}x" if action.leverage_before is not None else "unset"
        return f"{sign} leverage {before} -> {action.leverage_after}x"
    if action.type == ActionType.SET_MARGIN_MODE:
        before = action.mode_before.value if action.mode_before else "unset"
        return f"{sign} default margin mode {before} -> {action.margin_mode.value}"
    return (
        f"{sign} margin {action.adjustment} {money(action.amount)} USDC: "
        f"margin {money(action.margin_before)} -> {money(action.margin_after)}, "
        f"liq {liq(action.liq_before)} -> {liq(action.liq_after)} "
        f"({pct(action.distance_before)} -> {pct(action.distance_after)} from mark "
        f"{price(action.mark)})"
        + (
            f", daily budget left {money(action.budget_left)}"
            if action.budget_left is not None
            else ""
        )
    )


def _risk_lines(condition: SlotCondition) -> list[str]:
    risk = condition.risk
    if risk is None:
        return []
    lines = []
    if risk.position_qty != 0:
        margin = f"  margin {money(risk.margin)}" if risk.margin is not None else ""
        lines.append(
            f"    position {price(risk.position_qty)}  notional {money(risk.notional)}{margin}  "
            f"est. liq {liq(risk.est_liq_price)} ({pct(risk.liq_distance_pct)} from mark)"
        )
    if risk.projected_qty is not None and risk.projected_qty != risk.position_qty:
        margin = (
            f"  margin {money(risk.projected_margin)}" if risk.projected_margin is not None else ""
        )
        liq_text = (
            f"  liq {liq(risk.projected_liq_price)} ({pct(risk.projected_distance_pct)} from mark)"
            if risk.projected_margin is not None
            else ""
        )
        lines.append(
            f"    if all entries fill: position {price(risk.projected_qty)}  notional "
            f"{money(risk.projected_notional)}{margin}{liq_text}"
        )
    if risk.stress:
        cells = []
        for row in risk.stress:
            without = "survives" if row.survives_without_rule else "LIQUIDATED"
            cell = f"-{row.move_pct:.0f}%: {without}"
            if row.survives_with_rule is not None:
                cell += f" / with rule {'survives' if row.survives_with_rule else 'LIQUIDATED'}"
            cells.append(cell)
        lines.append("    stress (adverse move): " + "; ".join(cells))
    return lines


def render_plan(
    plan: Plan, *, exchange: str, simulated: bool, source: str | None = None
) -> list[str]:
    """The plan as a trader reads it: per (symbol, mode) each change and its risk."""
    lines = [f"Playbook {plan.playbook}" + (f" ({source})" if source else "")]
    if simulated:
        lines.append("SIMULATED EXCHANGE: runner's built-in simulator, no real money involved.")
    lines.append(f"Exchange: {exchange}")
    if plan.marks:
        lines.append(
            "Marks: " + ", ".join(f"{s} {price(m)}" for s, m in sorted(plan.marks.items()))
        )
    if plan.halted:
        lines.append("HALTED: entries are cancelled and not placed; margin rules still act.")
    lines.append("")
    by_slot: dict[tuple[str, str], list[Action]] = {}
    for action in plan.actions:
        by_slot.setdefault((action.symbol, action.margin_mode.value), []).append(action)
    for condition in plan.conditions:
        key = (condition.symbol, condition.margin_mode.value)
        status = condition.status.value.replace("_", " ")
        lines.append(f"{condition.symbol} {condition.margin_mode.value}: {status}")
        for action in by_slot.pop(key, []):
            lines.append(f"  {describe_action(action)}")
            lines.append(f"      why: {action.reason}")
        for blocker in condition.blockers:
            lines.append(f"  ! blocked: {blocker.what}: {blocker.reason}")
            lines.append(f"      to unblock: {blocker.unblock}")
        for note in condition.notes:
            lines.append(f"  . {note}")
        lines.extend(_risk_lines(condition))
    for (symbol, mode), actions in sorted(by_slot.items()):
        lines.append(f"{symbol} {mode}: not in the playbook")
        for action in actions:
            lines.append(f"  {describe_action(action)}")
            lines.append(f"      why: {action.reason}")
    if plan.unmanaged:
        lines.append("")
        lines.append(f"Unmanaged orders (not this playbook's; left alone): {len(plan.unmanaged)}")
        for order in plan.unmanaged:
            lines.append(
                f"  {order.symbol} {order.margin_mode.value} #{order.order_id} "
                f"{order.client_order_id or '(no client id)'}: {order.side} "
                f"{price(order.quantity)} @ {price(order.price)}"
            )
    if plan.guard_violations:
        lines.append("")
        lines.append("BLOCKED BY GUARDS (nothing will be written):")
        lines.extend(f"  ! {v}" for v in plan.guard_violations)
    lines.append("")
    lines.append(summary_line(plan))
    return lines


def summary_line(plan: Plan) -> str:
    counts = plan.count_by_type()
    blocked = sum(1 for c in plan.conditions if c.status == SlotStatus.BLOCKED)
    if not plan.actions:
        text = "No changes: the account matches the playbook."
    else:
        parts = [
            f"{counts.get(ActionType.PLACE_ORDER.value, 0)} to place",
            f"{counts.get(ActionType.CANCEL_ORDER.value, 0)} to cancel",
            f"{counts.get(ActionType.SET_LEVERAGE.value, 0)} leverage",
            f"{counts.get(ActionType.SET_MARGIN_MODE.value, 0)} margin mode",
            f"{counts.get(ActionType.ADJUST_MARGIN.value, 0)} margin",
        ]
        text = "Plan: " + ", ".join(parts) + "."
    if blocked:
        text += f" {blocked} slot(s) blocked."
    if plan.guard_violations:
        text += f" {len(plan.guard_violations)} guard violation(s): not applicable."
    return text


def plan_document(plan: Plan, *, simulated: bool, exchange: str) -> dict[str, Any]:
    """The plan for machines (`--json`): the versioned document plus where it was made."""
    document: dict[str, Any] = plan.to_json()
    document["simulated"] = simulated
    document["exchange"] = exchange
    return document

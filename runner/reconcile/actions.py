"""The vocabulary of a plan: actions, conditions, risk rows, and the Plan itself.

A plan is data: `plan.py` builds it from the playbook and the observed state, `execute.py`
carries it out, `render.py` shows it. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from runner.enums import MarginAdjustment, MarginMode, OrderType, Side

PLAN_FORMAT_VERSION = 1


class ActionType(StrEnum):
    CANCEL_ORDER = "cancel_order"
    SET_MARGIN_MODE = "set_margin_mode"
    SET_LEVERAGE = "set_leverage"
    ADJUST_MARGIN = "adjust_margin"
    PLACE_ORDER = "place_order"


# Waves run in this order. Stale orders go first: cancelling frees margin for what follows and
# clears the open-order precondition of mode switches and isolated leverage changes.
WAVES: tuple[ActionType, ...] = (
    ActionType.CANCEL_ORDER,
    ActionType.SET_MARGIN_MODE,
    ActionType.SET_LEVERAGE,
    ActionType.ADJUST_MARGIN,
    ActionType.PLACE_ORDER,
)


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@dataclass(frozen=True, slots=True)
class Action:
    """One write the plan wants, with the reason a trader would give for it."""

    type: ActionType
    symbol: str
    margin_mode: MarginMode
    reason: str
    # set_leverage / set_margin_mode
    leverage_before: int | None = None
    leverage_after: int | None = None
    mode_before: MarginMode | None = None
    # cancel_order / place_order
    order_id: int | None = None
    client_order_id: str | None = None
    key: str | None = None
    side: Side | None = None
    order_type: OrderType | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    reduce_only: bool = False
    visible_quantity: Decimal | None = None
    notional: Decimal | None = None
    # adjust_margin
    adjustment: MarginAdjustment | None = None
    amount: Decimal | None = None
    margin_before: Decimal | None = None
    margin_after: Decimal | None = None
    liq_before: Decimal | None = None
    liq_after: Decimal | None = None
    distance_before: Decimal | None = None
    distance_after: Decimal | None = None
    mark: Decimal | None = None
    budget_left: Decimal | None = None

    @property
    def wave(self) -> int:
        return WAVES.index(self.type)

    @property
    def slot_key(self) -> tuple[str, MarginMode]:
        return (self.symbol, self.margin_mode)

    def identity(self) -> tuple[Any, ...]:
        """What makes two actions the same intent (used to compare a saved plan with now)."""
        return (
            self.type.value,
            self.symbol,
            self.margin_mode.value,
            self.leverage_after,
            self.client_order_id,
            self.adjustment.value if self.adjustment else None,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type.value,
            "symbol": self.symbol,
            "margin_mode": self.margin_mode.value,
            "reason": self.reason,
        }
        optional: dict[str, Any] = {
            "leverage_before": self.leverage_before,
            "leverage_after": self.leverage_after,
            "mode_before": self.mode_before.value if self.mode_before else None,
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "key": self.key,
            "side": self.side.value if self.side else None,
            "order_type": self.order_type.value if self.order_type else None,
            "price": _num(self.price),
            "quantity": _num(self.quantity),
            "reduce_only": self.reduce_only or None,
            "visible_quantity": _num(self.visible_quantity),
            "notional": _num(self.notional),
            "adjustment": self.adjustment.value if self.adjustment else None,
            "amount": _num(self.amount),
            "margin_before": _num(self.margin_before),
            "margin_after": _num(self.margin_after),
            "liq_before": _num(self.liq_before),
            "liq_after": _num(self.liq_after),
            "distance_before_pct": _num(self.distance_before),
            "distance_after_pct": _num(self.distance_after),
            "mark": _num(self.mark),
            "budget_left": _num(self.budget_left),
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data


class SlotStatus(StrEnum):
    IN_SYNC = "in_sync"
    DRIFT = "drift"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Blocker:
    """A change the plan wants but Orderly (or a rule) does not allow now."""

    what: str
    reason: str
    unblock: str

    def to_json(self) -> dict[str, str]:
        return {"what": self.what, "reason": self.reason, "unblock": self.unblock}


@dataclass(frozen=True, slots=True)
class StressRow:
    """Would the position survive an adverse move of `move_pct`, without and with the rule."""

    move_pct: Decimal
    survives_without_rule: bool
    survives_with_rule: bool | None

    def to_json(self) -> dict[str, Any]:
        return {
            "move_pct": _num(self.move_pct),
            "survives_without_rule": self.survives_without_rule,
            "survives_with_rule": self.survives_with_rule,
        }


@dataclass(frozen=True, slots=True)
class SlotRisk:
    """The risk of one (symbol, mode) now and, projected, once every declared entry fills."""

    mark: Decimal | None
    position_qty: Decimal
    notional: Decimal
    margin: Decimal | None
    est_liq_price: Decimal | None
    liq_distance_pct: Decimal | None
    projected_qty: Decimal | None = None
    projected_notional: Decimal | None = None
    projected_margin: Decimal | None = None
    projected_liq_price: Decimal | None = None
    projected_distance_pct: Decimal | None = None
    stress: tuple[StressRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "mark": _num(self.mark),
            "position_qty": _num(self.position_qty),
            "notional": _num(self.notional),
            "margin": _num(self.margin),
            "est_liq_price": _num(self.est_liq_price),
            "liq_distance_pct": _num(self.liq_distance_pct),
            "projected": {
                "qty": _num(self.projected_qty),
                "notional": _num(self.projected_notional),
                "margin": _num(self.projected_margin),
                "liq_price": _num(self.projected_liq_price),
                "liq_distance_pct": _num(self.projected_distance_pct),
            },
            "stress": [row.to_json() for row in self.stress],
        }


@dataclass(frozen=True, slots=True)
class SlotCondition:
    """The verdict on one (symbol, mode) slot of the playbook."""

    symbol: str
    margin_mode: MarginMode
    status: SlotStatus
    drift: tuple[str, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    notes: tuple[str, ...] = ()
    risk: SlotRisk | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "margin_mode": self.margin_mode.value,
            "status": self.status.value,
            "drift": list(self.drift),
            "blocked": [b.to_json() for b in self.blockers],
            "notes": list(self.notes),
            "risk": self.risk.to_json() if self.risk else None,
        }


@dataclass(frozen=True, slots=True)
class UnmanagedOrder:
    order_id: int
    client_order_id: str | None
    symbol: str
    margin_mode: MarginMode
    side: Side
    price: Decimal | None
    quantity: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "margin_mode": self.margin_mode.value,
            "side": self.side.value,
            "price": _num(self.price),
            "quantity": _num(self.quantity),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The difference between a playbook and the account, as ordered actions."""

    playbook: str
    account_id: str
    network: str
    actions: tuple[Action, ...]
    conditions: tuple[SlotCondition, ...]
    unmanaged: tuple[UnmanagedOrder, ...] = ()
    guard_violations: tuple[str, ...] = ()
    halted: bool = False
    marks: dict[str, Decimal] = field(default_factory=dict)
    observed_at_ms: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    @property
    def blocked_by_guard(self) -> bool:
        return bool(self.guard_violations)

    def actions_of(self, action_type: ActionType) -> list[Action]:
        return [a for a in self.actions if a.type == action_type]

    def count_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action.type.value] = counts.get(action.type.value, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "playbook": self.playbook,
            "account_id": self.account_id,
            "network": self.network,
            "observed_at_ms": self.observed_at_ms,
            "halted": self.halted,
            "marks": {symbol: _num(mark) for symbol, mark in sorted(self.marks.items())},
            "summary": {
                "changes": len(self.actions),
                "by_type": self.count_by_type(),
                "blocked_slots": sum(1 for c in self.conditions if c.status == SlotStatus.BLOCKED),
                "unmanaged_orders": len(self.unmanaged),
                "guard_violations": len(self.guard_violations),
            },
            "guard_violations": list(self.guard_violations),
            "actions": [a.to_json() for a in self.actions],
            "conditions": [c.to_json() for c in self.conditions],
            "unmanaged_orders": [u.to_json() for u in self.unmanaged],
        }

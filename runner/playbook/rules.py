"""The checks a JSON Schema cannot express: relations between fields and with the id budget.

Order keys unique per (symbol, margin mode); one block per margin mode; price required or
forbidden by order type; positive sizes (also when written as text); visible_quantity within
quantity; margin rules on ISOLATED only and their ranges in order; leverage within
guards.max_leverage; `<name>-<key>` within the client_order_id budget; a valid cron string or
interval. The document may also have failed the schema, so every check reads the plain values
defensively and skips what is not the expected shape (the schema reports that). This module
never raises and never builds the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from runner.playbook.cron import CRON_EXAMPLE, cron_error
from runner.playbook.errors import FieldPath, Problem
from runner.playbook.ids import NAME_AND_KEY_BUDGET
from runner.playbook.load import Document

PRICED_TYPES = frozenset({"LIMIT", "POST_ONLY", "IOC", "FOK"})
MIN_INTERVAL_SECONDS = 5
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def as_decimal(value: Any) -> Decimal | None:
    """A number or numeric text as a Decimal; None for anything else (the schema reports it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def interval_seconds(text: str) -> int | None:
    """`"30s"` -> 30, `"5m"` -> 300; None when not of that form."""
    if len(text) < 2 or not text[:-1].isdigit() or text[-1] not in _UNIT_SECONDS:
        return None
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


def symbol_blocks(value: Any) -> list[tuple[FieldPath, dict[str, Any]]]:
    """The blocks of one symbol with their path suffix: `()` for one block, `(i,)` in a list."""
    if isinstance(value, dict):
        return [((), value)]
    if isinstance(value, list):
        return [((i,), block) for i, block in enumerate(value) if isinstance(block, dict)]
    return []


def rule_problems(doc: Document) -> list[Problem]:
    data = doc.data
    problems = list(_schedule_problems(doc, data.get("schedule")))
    guards = data.get("guards")
    max_leverage = guards.get("max_leverage") if isinstance(guards, dict) else None
    name = data.get("name")
    symbols = data.get("symbols")
    if not isinstance(symbols, dict):
        return problems
    for symbol, value in symbols.items():
        modes: dict[str, int] = {}
        for suffix, block in symbol_blocks(value):
            path: FieldPath = ("symbols", symbol, *suffix)
            mode = block.get("margin_mode")
            if isinstance(mode, str) and mode in modes:
                problems.append(
                    doc.problem(
                        (*path, "margin_mode"),
                        f"{symbol} has a second {mode} block (first at line {modes[mode]})",
                        "keep one block per margin mode: merge the two",
                    )
                )
            elif isinstance(mode, str):
                modes[mode] = doc.position((*path, "margin_mode"))[0]
            problems.extend(_block_problems(doc, path, block, max_leverage, name))
    return problems


def _schedule_problems(doc: Document, schedule: Any) -> Iterator[Problem]:
    if isinstance(schedule, str):
        reason = cron_error(schedule)
        if reason:
            yield doc.problem(
                ("schedule",),
                reason,
                f"write 5 fields: minute hour day-of-month month day-of-week, {CRON_EXAMPLE}",
            )
    elif isinstance(schedule, dict) and isinstance(schedule.get("every"), str):
        seconds = interval_seconds(schedule["every"])
        if seconds is not None and seconds < MIN_INTERVAL_SECONDS:
            yield doc.problem(
                ("schedule", "every"),
                f"{schedule['every']!r} is shorter than the minimum {MIN_INTERVAL_SECONDS}s",
                f"use {MIN_INTERVAL_SECONDS}s or more",
            )


def _block_problems(
    doc: Document, path: FieldPath, block: dict[str, Any], max_leverage: Any, name: Any
) -> Iterator[Problem]:
    leverage = block.get("leverage")
    if (
        isinstance(leverage, int)
        and isinstance(max_leverage, int)
        and not isinstance(leverage, bool)
        and not isinstance(max_leverage, bool)
        and leverage > max_leverage
    ):
        yield doc.problem(
            (*path, "leverage"),
            f"{leverage} is above guards.max_leverage {max_leverage}",
            f"lower the leverage to {max_leverage} or less, or raise guards.max_leverage",
        )
    margin = block.get("margin")
    if margin is not None and block.get("margin_mode") == "CROSS":
        yield doc.problem(
            (*path, "margin"),
            "margin rules apply only to ISOLATED positions",
            "remove 'margin', or set margin_mode: ISOLATED",
            at_key=True,
        )
    if isinstance(margin, dict):
        yield from _margin_problems(doc, (*path, "margin"), margin)
    orders = block.get("orders")
    if isinstance(orders, list):
        yield from _orders_problems(doc, (*path, "orders"), orders, name)


def _margin_problems(doc: Document, path: FieldPath, margin: dict[str, Any]) -> Iterator[Problem]:
    liq = margin.get("liq_distance")
    if isinstance(liq, dict):
        low, target, high = (as_decimal(liq.get(k)) for k in ("min_pct", "target_pct", "max_pct"))
        if low is not None and target is not None and high is not None and not low < target < high:
            yield doc.problem(
                (*path, "liq_distance"),
                f"min_pct {low}, target_pct {target}, max_pct {high} are out of order",
                "make min_pct < target_pct < max_pct",
            )
    for band_name in ("leverage_band", "margin_bounds"):
        band = margin.get(band_name)
        if isinstance(band, dict):
            low, high = as_decimal(band.get("min")), as_decimal(band.get("max"))
            if low is not None and high is not None and low > high:
                yield doc.problem(
                    (*path, band_name),
                    f"min {low} is above max {high}",
                    "make min at most max",
                )


def _orders_problems(
    doc: Document, path: FieldPath, orders: list[Any], name: Any
) -> Iterator[Problem]:
    keys: dict[str, int] = {}
    for index, order in enumerate(orders):
        if not isinstance(order, dict):
            continue
        here: FieldPath = (*path, index)
        key = order.get("key")
        if isinstance(key, str):
            if key in keys:
                yield doc.problem(
                    (*here, "key"),
                    f"order key '{key}' is already used at line {keys[key]}",
                    "give each order of a block its own key",
                )
            else:
                keys[key] = doc.position((*here, "key"))[0]
            if isinstance(name, str) and len(name) + len(key) > NAME_AND_KEY_BUDGET:
                yield doc.problem(
                    (*here, "key"),
                    f"name '{name}' and key '{key}' have {len(name) + len(key)} characters "
                    f"together, more than the {NAME_AND_KEY_BUDGET} a client_order_id has room for",
                    "shorten the playbook name or the order key",
                )
        yield from _order_problems(doc, here, order)


def _order_problems(doc: Document, here: FieldPath, order: dict[str, Any]) -> Iterator[Problem]:
    raw_type = order.get("type")
    order_type = raw_type if isinstance(raw_type, str) else None
    has_price = "price" in order and order["price"] is not None
    if order_type in PRICED_TYPES and not has_price:
        yield doc.problem(
            (*here, "price"), f"a {order_type} order needs a price", "add 'price: ...'"
        )
    if order_type == "MARKET" and "price" in order:
        yield doc.problem(
            (*here, "price"),
            "a MARKET order takes no price",
            "remove the price, or use type LIMIT or IOC to cap the price",
        )
    for field in ("price", "quantity"):
        number = as_decimal(order.get(field))
        if number is not None and number <= 0:
            yield doc.problem(
                (*here, field), f"{number} must be greater than 0", "use a number greater than 0"
            )
    visible = as_decimal(order.get("visible_quantity"))
    if visible is None:
        return
    if order_type in ("POST_ONLY", "MARKET", "IOC", "FOK"):
        yield doc.problem(
            (*here, "visible_quantity"),
            f"visible_quantity does not apply to {order_type} orders",
            "remove it, or use type LIMIT",
        )
    quantity = as_decimal(order.get("quantity"))
    if quantity is not None and visible > quantity:
        yield doc.problem(
            (*here, "visible_quantity"),
            f"{visible} is above the quantity {quantity}",
            "show at most the whole quantity; 0 hides the order",
        )

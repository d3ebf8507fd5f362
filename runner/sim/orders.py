"""Order entry: validation by Orderly's rules (§4.3), margin checks, placement, edit, cancel.

Validation order follows orderly-api.md §4.3: symbol and enums (-1005), price filter (-1103),
price range and scope against the mark (-1105), size filter (-1104), min notional (-1102),
margin (-1101). Everything is checked before the first mutation. This module must never move
a position itself: fills go through fills.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from runner.sim import errors as e
from runner.sim.errors import SimError
from runner.sim.fills import crosses, execute, taker_price
from runner.sim.margin import (
    available_for_isolated,
    cross_summary,
    isolated_margin_rate,
    max_notional_for_leverage,
)
from runner.sim.model import BUY, ISOLATED, MARGIN_MODES, SELL, ZERO, Account, Order
from runner.sim.numbers import parse_bool, parse_decimal, round8

if TYPE_CHECKING:
    from runner.sim.engine import Engine
    from runner.sim.symbols import SymbolSpec

ONE = Decimal(1)
ORDER_TYPES = ("LIMIT", "MARKET", "IOC", "FOK", "POST_ONLY", "ASK", "BID")
PRICED_TYPES = ("LIMIT", "IOC", "FOK", "POST_ONLY")
CREATE_FIELDS = frozenset(
    {
        "symbol",
        "order_type",
        "side",
        "order_price",
        "order_quantity",
        "order_amount",
        "client_order_id",
        "visible_quantity",
        "reduce_only",
        "margin_mode",
        "slippage",
        "order_tag",
        "level",
        "post_only_adjust",
    }
)
EDIT_FIELDS = frozenset(
    {
        "order_id",
        "symbol",
        "order_type",
        "side",
        "order_price",
        "order_quantity",
        "client_order_id",
        "order_amount",
        "reduce_only",
        "visible_quantity",
        "margin_mode",
        "order_tag",
    }
)
_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,35}$")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: str
    order_type: str
    margin_mode: str
    price: Decimal | None
    quantity: Decimal
    amount: Decimal | None
    visible_quantity: Decimal
    reduce_only: bool
    client_order_id: str
    order_tag: str
    slippage: Decimal | None


def reject_unknown_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise SimError(e.UNKNOWN_PARAM, f"unknown parameter: {', '.join(unknown)}")


def _enum(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = body.get(name)
    if value is None:
        raise SimError(e.INVALID_PARAM, f"{name} is required")
    if not isinstance(value, str) or value.upper() not in choices:
        raise SimError(e.INVALID_PARAM, f"{name} must be one of {', '.join(choices)}")
    return value.upper()


def _on_step(value: Decimal, start: Decimal, step: Decimal) -> bool:
    return (value - start) % step == 0


def parse_order(engine: Engine, account: Account, body: dict[str, Any]) -> OrderRequest:
    """A create-order body as a typed request (format checks only, no market rules)."""
    symbol = body.get("symbol")
    spec = engine.spec(symbol)
    side = _enum(body, "side", (BUY, SELL))
    order_type = _enum(body, "order_type", ORDER_TYPES)
    if body.get("margin_mode") is None:
        margin_mode = engine.default_mode(account, spec.symbol)
    else:
        margin_mode = _enum(body, "margin_mode", MARGIN_MODES)
    price: Decimal | None = None
    if order_type in PRICED_TYPES:
        if body.get("order_price") is None:
            raise SimError(e.INVALID_PARAM, f"order_price is required for {order_type} orders")
        price = parse_decimal(body["order_price"], "order_price", positive=True)
    elif order_type in ("ASK", "BID"):
        # priced at the best ask / bid on acceptance; the simulator's book is the mark
        price = engine.mark(spec.symbol)
    amount: Decimal | None = None
    if body.get("order_quantity") is not None:
        quantity = parse_decimal(body["order_quantity"], "order_quantity", positive=True)
    elif order_type in ("MARKET", "ASK", "BID") and body.get("order_amount") is not None:
        amount = parse_decimal(body["order_amount"], "order_amount", positive=True)
        reference = price if price is not None else engine.mark(spec.symbol)
        steps = ((amount / reference - spec.base_min) / spec.base_tick).to_integral_value(
            ROUND_FLOOR
        )
        quantity = spec.base_min + max(steps, ZERO) * spec.base_tick
    else:
        raise SimError(e.INVALID_PARAM, "order_quantity is required")
    visible = quantity
    if body.get("visible_quantity") is not None:
        visible = parse_decimal(body["visible_quantity"], "visible_quantity")
        if visible < 0 or visible > quantity:
            raise SimError(e.INVALID_PARAM, "visible_quantity must be between 0 and quantity")
    reduce_only = False
    if body.get("reduce_only") is not None:
        reduce_only = parse_bool(body["reduce_only"], "reduce_only")
    client_order_id = body.get("client_order_id") or ""
    if not isinstance(client_order_id, str):
        client_order_id = str(client_order_id)
    if client_order_id and not _CLIENT_ORDER_ID.match(client_order_id):
        raise SimError(
            e.INVALID_PARAM,
            "client_order_id must be at most 36 characters of letters, digits, '_' or '-' "
            "and must not start with '-'",
        )
    order_tag = body.get("order_tag") or "default"
    if not isinstance(order_tag, str) or len(order_tag) > 128:
        raise SimError(e.INVALID_PARAM, "order_tag must be a string of at most 128 characters")
    slippage = None
    if body.get("slippage") is not None:
        slippage = parse_decimal(body["slippage"], "slippage")
    return OrderRequest(
        symbol=spec.symbol,
        side=side,
        order_type=order_type,
        margin_mode=margin_mode,
        price=price,
        quantity=quantity,
        amount=amount,
        visible_quantity=visible,
        reduce_only=reduce_only,
        client_order_id=client_order_id,
        order_tag=order_tag,
        slippage=slippage,
    )


def check_rules(
    spec: SymbolSpec,
    mark: Decimal,
    side: str,
    price: Decimal | None,
    quantity: Decimal,
    visible: Decimal,
) -> None:
    """Price filter, price range/scope, size filter, min notional (§4.3)."""
    if price is not None:
        if price < spec.quote_min or price > spec.quote_max:
            raise SimError(
                e.PRICE_FILTER, f"order_price must be within {spec.quote_min}..{spec.quote_max}"
            )
        if not _on_step(price, spec.quote_min, spec.quote_tick):
            raise SimError(e.PRICE_FILTER, f"order_price must be a multiple of {spec.quote_tick}")
        if side == BUY:
            if price > mark * (ONE + spec.price_range):
                raise SimError(e.PERCENTAGE_FILTER, "order_price is too high for the price range")
            if price < mark * (ONE - spec.price_scope):
                raise SimError(e.PERCENTAGE_FILTER, "order_price is too low for the price scope")
        else:
            if price < mark * (ONE - spec.price_range):
                raise SimError(e.PERCENTAGE_FILTER, "order_price is too low for the price range")
            if price > mark * (ONE + spec.price_scope):
                raise SimError(e.PERCENTAGE_FILTER, "order_price is too high for the price scope")
    if quantity < spec.base_min or quantity > spec.base_max:
        raise SimError(
            e.SIZE_FILTER, f"order_quantity must be within {spec.base_min}..{spec.base_max}"
        )
    if not _on_step(quantity, spec.base_min, spec.base_tick):
        raise SimError(e.SIZE_FILTER, f"order_quantity must be a multiple of {spec.base_tick}")
    if visible and not _on_step(visible, ZERO, spec.base_tick):
        raise SimError(e.SIZE_FILTER, f"visible_quantity must be a multiple of {spec.base_tick}")
    reference = price if price is not None else mark
    if reference * quantity < spec.min_notional:
        raise SimError(e.MIN_NOTIONAL, f"order notional must be at least {spec.min_notional}")


def isolated_frozen(engine: Engine, order: Order, exclude: int | None = None) -> Decimal:
    """Margin a pending isolated order reserves: the part that opens, × (1/lev + 0.0006)."""
    account = engine.account(order.account_id)
    position = engine.position(order.account_id, order.symbol, ISOLATED)
    held = position.qty if position is not None else ZERO
    reducible = ZERO
    if (held > 0 and order.side == SELL) or (held < 0 and order.side == BUY):
        pending = sum(
            (
                o.remaining
                for o in engine.account_open_orders(order.account_id)
                if o.symbol == order.symbol
                and o.margin_mode == ISOLATED
                and o.side == order.side
                and o.order_id not in (order.order_id, exclude)
            ),
            ZERO,
        )
        reducible = max(ZERO, abs(held) - pending)
    opening = max(ZERO, order.remaining - reducible)
    reference = order.price if order.price is not None else engine.mark(order.symbol)
    leverage = engine.leverage(account, order.symbol, ISOLATED)
    return round8(opening * reference * isolated_margin_rate(leverage))


def check_margin(engine: Engine, account: Account, order: Order, exclude: int | None) -> None:
    """Refuse (-1101) an order the account cannot margin; `exclude` is an order being edited."""
    if order.reduce_only:
        return
    spec = engine.specs[order.symbol]
    mark = engine.mark(order.symbol)
    leverage = engine.leverage(account, order.symbol, order.margin_mode)
    position = engine.position(account.account_id, order.symbol, order.margin_mode)
    held = position.qty if position is not None else ZERO
    sign = ONE if order.side == BUY else -ONE
    if abs(held + sign * order.remaining) * mark > max_notional_for_leverage(spec, leverage):
        raise SimError(
            e.RISK_TOO_HIGH, "position notional would exceed the maximum for this leverage"
        )
    positions = engine.account_positions(account.account_id)
    others = [o for o in engine.account_open_orders(account.account_id) if o.order_id != exclude]
    marks = engine.state.market.marks
    leverages = engine.cross_leverages(account)
    before = cross_summary(account.holding, positions, others, marks, engine.specs, leverages)
    if order.margin_mode == ISOLATED:
        if order.frozen > available_for_isolated(account.holding, before):
            raise SimError(e.RISK_TOO_HIGH, "insufficient margin for this isolated order")
        return
    after = cross_summary(
        account.holding, positions, [*others, order], marks, engine.specs, leverages
    )
    grows = after.initial_margin_with_orders > before.initial_margin_with_orders
    if grows and after.total_collateral < after.initial_margin_with_orders:
        raise SimError(e.RISK_TOO_HIGH, "insufficient margin for this order")


def _check_client_order_id(engine: Engine, account_id: str, coid: str, exclude: int | None) -> None:
    if not coid:
        return
    for other in engine.account_open_orders(account_id):
        if other.client_order_id == coid and other.order_id != exclude:
            raise SimError(
                e.DUPLICATE_REQUEST, f"client_order_id {coid} is already in use by an open order"
            )


def place_order(engine: Engine, account: Account, body: dict[str, Any], now: int) -> Order:
    """Validate and accept one order; immediate types execute against the mark at once."""
    request = parse_order(engine, account, body)
    spec = engine.specs[request.symbol]
    mark = engine.mark(request.symbol)
    check_rules(spec, mark, request.side, request.price, request.quantity, request.visible_quantity)
    _check_client_order_id(engine, account.account_id, request.client_order_id, None)
    if request.reduce_only:
        position = engine.position(account.account_id, request.symbol, request.margin_mode)
        held = position.qty if position is not None else ZERO
        if not ((held > 0 and request.side == SELL) or (held < 0 and request.side == BUY)):
            raise SimError(e.INVALID_PARAM, "reduce_only order would not reduce the position")
    order = Order(
        order_id=engine.state.meta.next_order_id,
        account_id=account.account_id,
        symbol=request.symbol,
        side=request.side,
        type=request.order_type,
        margin_mode=request.margin_mode,
        price=request.price,
        quantity=request.quantity,
        amount=request.amount,
        visible_quantity=request.visible_quantity,
        reduce_only=request.reduce_only,
        client_order_id=request.client_order_id,
        order_tag=request.order_tag,
        status="NEW",
        executed_quantity=ZERO,
        average_executed_price=None,
        total_fee=ZERO,
        realized_pnl=ZERO,
        frozen=ZERO,
        created_time=now,
        updated_time=now,
    )
    if order.margin_mode == ISOLATED and not order.reduce_only:
        order.frozen = isolated_frozen(engine, order)
    check_margin(engine, account, order, None)
    engine.state.meta.next_order_id += 1
    engine.touch_meta()
    engine.add_order(order)
    _execute_on_entry(engine, order, request.slippage, now)
    return order


def _execute_on_entry(engine: Engine, order: Order, slippage: Decimal | None, now: int) -> None:
    mark = engine.mark(order.symbol)
    fill_price = taker_price(engine, order.symbol, order.side)
    if order.type == "MARKET":
        moved = abs(fill_price - mark) / mark
        if slippage is not None and moved > slippage:
            engine.close_order(order, "CANCELLED", now)
            return
        execute(engine, order, fill_price, is_maker=False, now=now)
        return
    assert order.price is not None
    if not crosses(order.side, order.price, mark):
        if order.type in ("IOC", "FOK"):
            engine.close_order(order, "CANCELLED", now)
        return
    if order.type == "POST_ONLY":
        # a POST_ONLY that would take is cancelled, not filled (§4.2)
        engine.close_order(order, "CANCELLED", now)
        return
    price = min(order.price, fill_price) if order.side == BUY else max(order.price, fill_price)
    execute(engine, order, price, is_maker=False, now=now)


def edit_order(engine: Engine, account: Account, body: dict[str, Any], now: int) -> Order:
    """PUT /v1/order: change price and/or quantity of an open order."""
    order = find_open_order(engine, account, body.get("order_id"), body.get("symbol"))
    price = order.price
    if body.get("order_price") is not None and order.type in PRICED_TYPES:
        price = parse_decimal(body["order_price"], "order_price", positive=True)
    quantity = order.quantity
    if body.get("order_quantity") is not None:
        quantity = parse_decimal(body["order_quantity"], "order_quantity", positive=True)
    if quantity <= order.executed_quantity:
        raise SimError(e.INVALID_PARAM, "order_quantity must exceed the executed quantity")
    spec = engine.specs[order.symbol]
    visible = min(order.visible_quantity, quantity) if order.visible_quantity else ZERO
    if body.get("visible_quantity") is not None:
        visible = parse_decimal(body["visible_quantity"], "visible_quantity")
    check_rules(spec, engine.mark(order.symbol), order.side, price, quantity, visible)
    candidate = Order(**{name: getattr(order, name) for name in Order.__dataclass_fields__})
    candidate.price = price
    candidate.quantity = quantity
    candidate.visible_quantity = visible
    if candidate.margin_mode == ISOLATED and not candidate.reduce_only:
        candidate.frozen = isolated_frozen(engine, candidate, order.order_id)
    check_margin(engine, account, candidate, order.order_id)
    order.price = price
    order.quantity = quantity
    order.visible_quantity = visible
    order.frozen = candidate.frozen
    order.updated_time = now
    engine.touch(order)
    _execute_on_entry(engine, order, None, now)
    return order


def parse_order_id(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SimError(e.INVALID_PARAM, "order_id must be an integer") from None


def find_open_order(engine: Engine, account: Account, order_id: object, symbol: object) -> Order:
    if order_id is None or symbol is None:
        raise SimError(e.INVALID_PARAM, "order_id and symbol are required")
    engine.spec(symbol)
    order = engine.state.orders.get(parse_order_id(order_id))
    if order is None or order.account_id != account.account_id or order.symbol != symbol:
        raise SimError(e.RESOURCE_NOT_FOUND, "order not found")
    if not order.is_open:
        raise SimError(e.RESOURCE_NOT_FOUND, f"order is already {order.status}")
    return order


def find_open_by_client_id(engine: Engine, account: Account, coid: object, symbol: object) -> Order:
    if not coid or symbol is None:
        raise SimError(e.INVALID_PARAM, "client_order_id and symbol are required")
    engine.spec(symbol)
    for order in engine.account_open_orders(account.account_id):
        if order.client_order_id == coid and order.symbol == symbol:
            return order
    raise SimError(e.RESOURCE_NOT_FOUND, "order not found")


def cancel(engine: Engine, order: Order, now: int) -> None:
    engine.close_order(order, "CANCELLED", now)


def cancel_all(
    engine: Engine, account: Account, symbol: str | None, now: int, margin_mode: str | None = None
) -> int:
    orders = [
        o
        for o in engine.account_open_orders(account.account_id)
        if (symbol is None or o.symbol == symbol)
        and (margin_mode is None or o.margin_mode == margin_mode)
    ]
    for order in orders:
        cancel(engine, order, now)
    return len(orders)

"""Executions: fills against the mark price and the position bookkeeping they cause.

A fill moves a position by the rules of orderly-api.md §5.4 (isolated margin taken at
notional / leverage, released pro rata on reduce); realised PnL of a reducing fill is settled
into the USDC holding at once; opening fees are folded into cost_position. This module must
never validate an order: by the time it runs the order was accepted.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from runner.sim.engine import MAKER_FEE_RATE, TAKER_FEE_RATE, TAKER_SLIPPAGE
from runner.sim.model import BUY, ISOLATED, ZERO, Account, Order, Position, Trade
from runner.sim.numbers import round8

if TYPE_CHECKING:
    from runner.sim.engine import Engine

ONE = Decimal(1)


def taker_price(engine: Engine, symbol: str, side: str) -> Decimal:
    """The price an immediate fill gets: the mark moved by the taker slippage, on tick."""
    spec = engine.specs[symbol]
    mark = engine.mark(symbol)
    if side == BUY:
        raw = mark * (ONE + TAKER_SLIPPAGE)
        return (raw / spec.quote_tick).to_integral_value(ROUND_CEILING) * spec.quote_tick
    raw = mark * (ONE - TAKER_SLIPPAGE)
    return (raw / spec.quote_tick).to_integral_value(ROUND_FLOOR) * spec.quote_tick


def crosses(order_side: str, price: Decimal, mark: Decimal) -> bool:
    """A BUY at or above the mark, or a SELL at or below it, executes."""
    return price >= mark if order_side == BUY else price <= mark


def execute(engine: Engine, order: Order, price: Decimal, *, is_maker: bool, now: int) -> None:
    """Fill the order's whole remaining quantity at `price`."""
    account = engine.account(order.account_id)
    position = engine.position_or_new(order.account_id, order.symbol, order.margin_mode, now)
    qty = order.remaining
    if order.reduce_only:
        # a reduce-only order never flips or grows the position
        reducible = abs(position.qty) if _opposite(position.qty, order.side) else ZERO
        qty = min(qty, reducible)
        if qty <= 0:
            engine.close_order(order, "CANCELLED", now)
            return
    rate = MAKER_FEE_RATE if is_maker else TAKER_FEE_RATE
    fee = round8(qty * price * rate)
    leverage = engine.leverage(account, order.symbol, order.margin_mode)
    realized = apply_fill(account, position, order.side, qty, price, fee, leverage)
    position.seq = engine.next_seq()
    position.updated_time = now
    position.fee_24h += fee
    position.pnl_24h += realized
    previous = order.executed_quantity
    order.executed_quantity = previous + qty
    paid = (order.average_executed_price or ZERO) * previous + price * qty
    order.average_executed_price = round8(paid / order.executed_quantity)
    order.total_fee += fee
    order.realized_pnl += realized
    engine.close_order(order, "FILLED", now)
    trade = Trade(
        id=engine.state.meta.next_trade_id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        order_id=order.order_id,
        executed_price=price,
        executed_quantity=qty,
        fee=fee,
        is_maker=is_maker,
        realized_pnl=realized,
        executed_timestamp=now,
        margin_mode=order.margin_mode,
    )
    engine.state.meta.next_trade_id += 1
    engine.touch_meta()
    engine.add_trade(trade)
    engine.touch(position)
    engine.touch(account)


def _opposite(position_qty: Decimal, side: str) -> bool:
    return (position_qty > 0 and side != BUY) or (position_qty < 0 and side == BUY)


def apply_fill(
    account: Account,
    position: Position,
    side: str,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    leverage: int,
) -> Decimal:
    """Move the position by one fill; returns the realised PnL (settled into holding)."""
    sign = ONE if side == BUY else -ONE
    isolated = position.margin_mode == ISOLATED
    realized = ZERO
    open_qty = qty
    open_fee = fee
    if _opposite(position.qty, side):
        held = abs(position.qty)
        close_qty = min(qty, held)
        close_fee = fee * close_qty / qty
        open_qty = qty - close_qty
        open_fee = fee - close_fee
        cost_share = position.cost_position * close_qty / held
        # proceeds of closing close_qty, signed like the position, minus its share of cost
        realized = round8(-sign * close_qty * price - cost_share - close_fee)
        position.cost_position -= cost_share
        position.qty += sign * close_qty
        released = ZERO
        if isolated:
            released = position.margin * close_qty / held
            position.margin -= released
        if position.qty == 0:
            # flat: any rounding residue belongs to the realised figure
            realized += round8(-position.cost_position)
            released += position.margin
            position.cost_position = ZERO
            position.margin = ZERO
            position.average_open_price = ZERO
        account.holding += round8(released + realized)
    if open_qty > 0:
        held = abs(position.qty)
        new_held = held + open_qty
        position.average_open_price = round8(
            (position.average_open_price * held + price * open_qty) / new_held
        )
        position.qty += sign * open_qty
        position.cost_position += sign * open_qty * price + open_fee
        if isolated:
            taken = round8(open_qty * price / Decimal(leverage))
            position.margin += taken
            account.holding -= taken
    return realized


def fill_crossed_orders(engine: Engine, symbols: list[str], now: int) -> None:
    """Resting orders the marks crossed fill at their own price, as makers."""
    wanted = set(symbols)
    crossed = [
        order
        for order in engine.state.open_orders.values()
        if order.symbol in wanted
        and order.price is not None
        and crosses(order.side, order.price, engine.mark(order.symbol))
    ]
    crossed.sort(key=lambda order: order.order_id)
    for order in crossed:
        if order.is_open:
            execute(engine, order, order.price or ZERO, is_maker=True, now=now)

"""Liquidation when the marks move (orderly-api.md §5.6, simplified as §5.6 suggests).

An isolated position is liquidated alone when margin + unsettled PnL falls to its maintenance
margin: its orders are cancelled, it is closed at the mark, the liquidation fee comes out of
its remaining equity and whatever is left returns to the holding, so the account never loses
more than that position's margin. Cross positions share the account's collateral: when it
falls below the cross maintenance margin, every cross order is cancelled and every cross
position is closed at the mark. This module must never touch isolated positions in a cross
liquidation, nor other positions in an isolated one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from runner.sim.margin import cross_summary, isolated_is_liquidatable, unsettled_pnl
from runner.sim.model import CROSS, ISOLATED, ZERO, Position
from runner.sim.numbers import round8

if TYPE_CHECKING:
    from runner.sim.engine import Engine


def liquidate_breached(engine: Engine, symbols: list[str] | None, now: int) -> None:
    """Check every account holding a position in `symbols` (None: all)."""
    wanted = set(symbols) if symbols is not None else None
    accounts = sorted(
        {
            p.account_id
            for p in engine.state.positions.values()
            if p.qty != 0 and (wanted is None or p.symbol in wanted)
        }
    )
    for account_id in accounts:
        for position in engine.account_positions(account_id):
            if position.margin_mode != ISOLATED or position.qty == 0:
                continue
            spec = engine.specs[position.symbol]
            if isolated_is_liquidatable(position, engine.mark(position.symbol), spec):
                liquidate_isolated(engine, position, now)
        account = engine.account(account_id)
        summary = cross_summary(
            account.holding,
            engine.account_positions(account_id),
            engine.account_open_orders(account_id),
            engine.state.market.marks,
            engine.specs,
            engine.cross_leverages(account),
        )
        if summary.liquidatable:
            liquidate_cross(engine, account_id, now)


def _close(position: Position, now: int) -> None:
    position.qty = ZERO
    position.cost_position = ZERO
    position.average_open_price = ZERO
    position.margin = ZERO
    position.updated_time = now


def liquidate_isolated(engine: Engine, position: Position, now: int) -> None:
    account = engine.account(position.account_id)
    for order in engine.account_open_orders(position.account_id):
        if order.symbol == position.symbol and order.margin_mode == ISOLATED:
            engine.close_order(order, "CANCELLED", now)
    spec = engine.specs[position.symbol]
    mark = engine.mark(position.symbol)
    notional = abs(position.qty) * mark
    equity = position.margin + unsettled_pnl(position, mark)
    fee = min(max(equity, ZERO), round8(notional * spec.std_liquidation_fee))
    returned = round8(max(ZERO, equity - fee))
    engine.record_liquidation(
        {
            "account_id": position.account_id,
            "symbol": position.symbol,
            "margin_mode": ISOLATED,
            "position_qty": str(position.qty),
            "mark_price": str(mark),
            "margin": str(position.margin),
            "liquidation_fee": str(fee),
            "returned_to_holding": str(returned),
            "timestamp": now,
        }
    )
    account.holding += returned
    _close(position, now)
    position.seq = engine.next_seq()
    engine.touch(position)
    engine.touch(account)


def liquidate_cross(engine: Engine, account_id: str, now: int) -> None:
    account = engine.account(account_id)
    for order in engine.account_open_orders(account_id):
        if order.margin_mode == CROSS:
            engine.close_order(order, "CANCELLED", now)
    upnl = ZERO
    fees = ZERO
    closed: list[str] = []
    for position in engine.account_positions(account_id):
        if position.margin_mode != CROSS or position.qty == 0:
            continue
        spec = engine.specs[position.symbol]
        mark = engine.mark(position.symbol)
        upnl += unsettled_pnl(position, mark)
        fees += abs(position.qty) * mark * spec.std_liquidation_fee
        closed.append(f"{position.symbol}:{position.qty}")
        _close(position, now)
        position.seq = engine.next_seq()
        engine.touch(position)
    equity = account.holding + upnl
    fee = min(max(equity, ZERO), round8(fees))
    # a bankrupt account ends at zero: the insurance fund absorbs the deficit
    new_holding = round8(max(ZERO, equity - fee))
    engine.record_liquidation(
        {
            "account_id": account_id,
            "symbol": ",".join(closed),
            "margin_mode": CROSS,
            "holding_before": str(account.holding),
            "liquidation_fee": str(fee),
            "holding_after": str(new_holding),
            "timestamp": now,
        }
    )
    account.holding = new_holding
    engine.touch(account)


def total_equity(engine: Engine, account_id: str) -> Decimal:
    """holding + isolated margins + all unsettled PnL: what the account is worth at the mark."""
    account = engine.account(account_id)
    value = account.holding
    for position in engine.account_positions(account_id):
        value += position.margin + unsettled_pnl(position, engine.mark(position.symbol))
    return value

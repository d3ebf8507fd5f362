"""Response bodies in Orderly's field names (orderly-api.md §4): order rows, position rows
and the account figures, holdings, client info, futures rows.

Pure projections of engine state: this module must never change anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner.sim.engine import MAKER_FEE_BPS, TAKER_FEE_BPS
from runner.sim.margin import (
    CrossSummary,
    cross_liq_price,
    cross_summary,
    imr,
    isolated_liq_price,
    mmr,
    qty_with_orders,
    unsettled_pnl,
)
from runner.sim.model import BUY, CROSS, ISOLATED, ZERO, Account, Order, Position
from runner.sim.numbers import round8

if TYPE_CHECKING:
    from runner.sim.engine import Engine

# Shown when there is no exposure, as Orderly's UI shows "1000%" for an idle account.
IDLE_MARGIN_RATIO = Decimal(10)


def order_row(order: Order, user_id: int) -> dict[str, Any]:
    executed = order.executed_quantity
    return {
        "order_id": order.order_id,
        "user_id": user_id,
        "price": order.price,
        "type": order.type,
        "quantity": order.quantity,
        "amount": order.amount,
        "executed_quantity": executed,
        "total_executed_quantity": executed,
        "visible_quantity": order.visible_quantity,
        "visible": order.visible_quantity,
        "symbol": order.symbol,
        "side": order.side,
        "status": order.status,
        "total_fee": order.total_fee,
        "fee_asset": "USDC",
        "client_order_id": order.client_order_id,
        "average_executed_price": order.average_executed_price,
        "created_time": order.created_time,
        "updated_time": order.updated_time,
        "realized_pnl": order.realized_pnl,
        "executed": executed,
        "reduce_only": order.reduce_only,
        "order_tag": order.order_tag,
        "margin_mode": order.margin_mode,
    }


def order_ack(order: Order) -> dict[str, Any]:
    """The data of a create-order reply."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "order_type": order.type,
        "order_price": order.price,
        "order_quantity": order.quantity,
        "order_amount": order.amount,
        "error_message": "none",
    }


def account_summary(engine: Engine, account: Account) -> CrossSummary:
    return cross_summary(
        account.holding,
        engine.account_positions(account.account_id),
        engine.account_open_orders(account.account_id),
        engine.state.market.marks,
        engine.specs,
        engine.cross_leverages(account),
    )


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    return round8(numerator / denominator) if denominator > 0 else IDLE_MARGIN_RATIO


def risk_figures(engine: Engine, account: Account, summary: CrossSummary) -> dict[str, Any]:
    """The account header shared by /v1/positions and /v1/account_info."""
    notional_wo = ZERO
    positions = engine.account_positions(account.account_id)
    orders = engine.account_open_orders(account.account_id)
    for symbol in {p.symbol for p in positions if p.margin_mode == CROSS} | {
        o.symbol for o in orders if o.margin_mode == CROSS
    }:
        position = engine.position(account.account_id, symbol, CROSS)
        qty = position.qty if position is not None else ZERO
        same = [o for o in orders if o.symbol == symbol and o.margin_mode == CROSS]
        notional_wo += qty_with_orders(qty, same) * engine.mark(symbol)
    collateral = summary.total_collateral
    account_value = (
        account.holding
        + summary.isolated_margin
        + summary.cross_unsettled_pnl
        + (summary.isolated_unsettled_pnl)
    )
    return {
        "current_margin_ratio_with_orders": _ratio(collateral, notional_wo),
        "free_collateral": round8(summary.free_collateral),
        "initial_margin_ratio": _ratio(summary.initial_margin, summary.total_notional)
        if summary.total_notional > 0
        else Decimal("0.1"),
        "initial_margin_ratio_with_orders": _ratio(summary.initial_margin_with_orders, notional_wo)
        if notional_wo > 0
        else Decimal("0.1"),
        "maintenance_margin_ratio": _ratio(summary.maintenance_margin, summary.total_notional)
        if summary.total_notional > 0
        else Decimal("0.05"),
        "maintenance_margin_ratio_with_orders": _ratio(summary.maintenance_margin, notional_wo)
        if notional_wo > 0
        else Decimal("0.05"),
        "margin_ratio": _ratio(collateral, summary.total_notional),
        "open_margin_ratio": _ratio(collateral, notional_wo),
        "total_collateral_value": round8(collateral),
        "account_value": round8(account_value),
    }


def position_row(
    engine: Engine, account: Account, position: Position, summary: CrossSummary
) -> dict[str, Any]:
    spec = engine.specs[position.symbol]
    mark = engine.mark(position.symbol)
    qty = position.qty
    notional = abs(qty) * mark
    leverage = engine.leverage(account, position.symbol, position.margin_mode)
    orders = [
        o
        for o in engine.account_open_orders(account.account_id)
        if o.symbol == position.symbol and o.margin_mode == position.margin_mode
    ]
    pending_long = sum((o.remaining for o in orders if o.side == BUY), ZERO)
    pending_short = sum((o.remaining for o in orders if o.side != BUY), ZERO)
    with_orders = qty_with_orders(qty, orders) * mark
    mmr_i = mmr(spec, notional)
    if position.margin_mode == ISOLATED:
        liq = isolated_liq_price(position, mark, spec)
    else:
        liq = cross_liq_price(
            qty, mark, mmr_i, summary.total_collateral, summary.maintenance_margin
        )
    return {
        "symbol": position.symbol,
        "position_qty": qty,
        "cost_position": round8(position.cost_position),
        "last_sum_unitary_funding": ZERO,
        "pending_long_qty": pending_long,
        "pending_short_qty": pending_short,
        "settle_price": round8(position.cost_position / qty) if qty else ZERO,
        "average_open_price": position.average_open_price,
        "unsettled_pnl": round8(unsettled_pnl(position, mark)),
        "mark_price": mark,
        "est_liq_price": round8(liq) if liq is not None else ZERO,
        "imr": round8(imr(spec, notional, leverage)),
        "mmr": round8(mmr_i),
        "IMR_withdraw_orders": round8(imr(spec, with_orders, leverage)),
        "MMR_with_orders": round8(mmr(spec, with_orders)),
        "pnl_24_h": position.pnl_24h,
        "fee_24_h": position.fee_24h,
        "seq": position.seq,
        "timestamp": position.updated_time,
        "updated_time": position.updated_time,
        "leverage": leverage,
        "margin_mode": position.margin_mode,
        "margin": round8(position.margin),
        "accrued_funding_fee": ZERO,
    }


def visible_positions(engine: Engine, account: Account) -> list[Position]:
    """Open positions, plus flat (symbol, mode) pairs that have pending orders."""
    pending = {(o.symbol, o.margin_mode) for o in engine.account_open_orders(account.account_id)}
    rows = [
        p
        for p in engine.account_positions(account.account_id)
        if p.qty != 0 or (p.symbol, p.margin_mode) in pending
    ]
    rows.sort(key=lambda p: (p.symbol, p.margin_mode))
    return rows


def positions_payload(engine: Engine, account: Account) -> dict[str, Any]:
    summary = account_summary(engine, account)
    data = risk_figures(engine, account, summary)
    data["total_pnl_24_h"] = ZERO
    data["rows"] = [
        position_row(engine, account, p, summary) for p in visible_positions(engine, account)
    ]
    return data


def account_info_payload(engine: Engine, account: Account) -> dict[str, Any]:
    summary = account_summary(engine, account)
    data = risk_figures(engine, account, summary)
    data["total_pnl_24h"] = ZERO
    return data


def holding_row(account: Account, summary: CrossSummary) -> dict[str, Any]:
    return {
        "updated_time": account.updated_time,
        "token": "USDC",
        "holding": round8(account.holding),
        "frozen": ZERO,
        "pending_short": ZERO,
        "isolated_margin": round8(summary.isolated_margin),
        "isolated_order_frozen": round8(summary.isolated_order_frozen),
    }


def client_info(engine: Engine, account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "email": "",
        "account_mode": "FUTURES",
        "max_leverage": account.max_leverage,
        "taker_fee_rate": TAKER_FEE_BPS,
        "maker_fee_rate": MAKER_FEE_BPS,
        "futures_taker_fee_rate": TAKER_FEE_BPS,
        "futures_maker_fee_rate": MAKER_FEE_BPS,
        "rwa_taker_fee_rate": TAKER_FEE_BPS,
        "rwa_maker_fee_rate": MAKER_FEE_BPS,
        "maintenance_cancel_orders": True,
        "imr_factor": {s: spec.imr_factor for s, spec in engine.specs.items()},
        "max_notional": {s: spec.max_notional for s, spec in engine.specs.items()},
    }


def futures_row(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    spec = engine.specs[symbol]
    mark = engine.mark(symbol)
    open_interest = sum(
        (abs(p.qty) for p in engine.state.positions.values() if p.symbol == symbol and p.qty > 0),
        ZERO,
    )
    period_ms = spec.funding_period * 3600 * 1000
    return {
        "symbol": symbol,
        "index_price": mark,
        "mark_price": mark,
        "sum_unitary_funding": ZERO,
        "est_funding_rate": ZERO,
        "last_funding_rate": ZERO,
        "next_funding_time": (now // period_ms + 1) * period_ms,
        "open_interest": open_interest,
        "24h_open": mark,
        "24h_close": mark,
        "24h_high": mark,
        "24h_low": mark,
        "24h_amount": ZERO,
        "24h_volume": ZERO,
    }

"""Pure margin maths of orderly-api.md §5: IMR/MMR, collateral, liquidation prices.

Every function takes values and returns values: no state, no clock, no I/O. Funding is not
simulated (sum_unitary_funding stays 0), so the funding terms of §5 vanish here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache

from runner.sim.model import BUY, CROSS, ISOLATED, ZERO, Order, Position
from runner.sim.symbols import SymbolSpec

ONE = Decimal(1)
IMR_FACTOR_POWER = Decimal("0.8")
# Backend IsoOrderFrozenBuffer: the highest taker fee tier (orderly-api.md §5.4).
ISO_ORDER_FROZEN_BUFFER = Decimal("0.0006")


def _factor_term(spec: SymbolSpec, notional: Decimal) -> Decimal:
    if notional <= 0:
        return ZERO
    return _power_term(spec.imr_factor, notional)


@lru_cache(maxsize=8192)
def _power_term(imr_factor: Decimal, notional: Decimal) -> Decimal:
    # a non-integer Decimal power is slow; the same notionals recur while marks stand still
    return imr_factor * notional**IMR_FACTOR_POWER


def imr(spec: SymbolSpec, notional: Decimal, leverage: int) -> Decimal:
    """IMR_i = max(1/leverage, base_imr, imr_factor × notional^0.8) (§5.1, SDK form)."""
    return max(ONE / Decimal(leverage), spec.base_imr, _factor_term(spec, abs(notional)))


def mmr(spec: SymbolSpec, notional: Decimal) -> Decimal:
    """MMR_i = max(base_mmr, base_mmr/base_imr × imr_factor × notional^0.8) (§5.1)."""
    scaled = spec.base_mmr / spec.base_imr * _factor_term(spec, abs(notional))
    return max(spec.base_mmr, scaled)


def max_notional_for_leverage(spec: SymbolSpec, leverage: int) -> Decimal:
    """Largest notional allowed at a leverage: (1/(lev × imr_factor))^(1/0.8), capped (§5.5)."""
    return _max_notional(spec.imr_factor, leverage, spec.max_notional)


@lru_cache(maxsize=4096)
def _max_notional(imr_factor: Decimal, leverage: int, cap: Decimal) -> Decimal:
    by_factor = (ONE / (Decimal(leverage) * imr_factor)) ** (ONE / IMR_FACTOR_POWER)
    return min(by_factor, cap)


def symbol_leverage_max(spec: SymbolSpec, notional: Decimal) -> int:
    """floor(min(1/(imr_factor × notional^0.8), 1/base_imr)) for the current notional (§5.5)."""
    cap = ONE / spec.base_imr
    term = _factor_term(spec, abs(notional))
    if term > 0:
        cap = min(cap, ONE / term)
    return int(cap.to_integral_value(rounding=ROUND_FLOOR))


def isolated_margin_rate(leverage: int) -> Decimal:
    """Rate reserved by a pending isolated order: 1/leverage + 0.0006 (§5.4)."""
    return ONE / Decimal(leverage) + ISO_ORDER_FROZEN_BUFFER


def unsettled_pnl(position: Position, mark: Decimal) -> Decimal:
    """qty × mark − cost_position (funding is not simulated)."""
    return position.qty * mark - position.cost_position


def isolated_liq_price(position: Position, mark: Decimal, spec: SymbolSpec) -> Decimal | None:
    """(margin − cost) / (|qty| × MMR − qty), None when not positive (§5.4)."""
    qty = position.qty
    if qty == 0:
        return None
    rate = mmr(spec, abs(qty) * mark)
    denominator = abs(qty) * rate - qty
    if denominator == 0:
        return None
    price = (position.margin - position.cost_position) / denominator
    return price if price > 0 else None


def isolated_is_liquidatable(position: Position, mark: Decimal, spec: SymbolSpec) -> bool:
    """margin + unsettled_pnl <= |qty| × mark × MMR (§5.4, rearranged)."""
    if position.qty == 0:
        return False
    notional = abs(position.qty) * mark
    return position.margin + unsettled_pnl(position, mark) <= notional * mmr(spec, notional)


def cross_liq_price(
    qty: Decimal, mark: Decimal, mmr_i: Decimal, total_collateral: Decimal, total_mm: Decimal
) -> Decimal | None:
    """Docs closed form: max(mark + (collateral − Σ MM)/(|qty| × MMR_i − qty), 0) (§5.3)."""
    if qty == 0 or total_collateral <= 0:
        return None
    denominator = abs(qty) * mmr_i - qty
    if denominator == 0:
        return None
    price = mark + (total_collateral - total_mm) / denominator
    return price if price > 0 else None


@dataclass(frozen=True, slots=True)
class CrossSummary:
    """The account figures of /v1/positions and /v1/account_info (cross side only)."""

    total_collateral: Decimal
    total_notional: Decimal
    initial_margin: Decimal
    initial_margin_with_orders: Decimal
    maintenance_margin: Decimal
    cross_unsettled_pnl: Decimal
    isolated_margin: Decimal
    isolated_order_frozen: Decimal
    isolated_unsettled_pnl: Decimal

    @property
    def free_collateral(self) -> Decimal:
        return max(ZERO, self.total_collateral - self.initial_margin_with_orders)

    @property
    def liquidatable(self) -> bool:
        return self.total_notional > 0 and self.total_collateral < self.maintenance_margin


def qty_with_orders(qty: Decimal, orders: list[Order]) -> Decimal:
    """max(|qty + Σ buy|, |qty − Σ sell|) over open orders (§5.1)."""
    buys = sum((o.remaining for o in orders if o.side == BUY), ZERO)
    sells = sum((o.remaining for o in orders if o.side != BUY), ZERO)
    return max(abs(qty + buys), abs(qty - sells))


def cross_summary(
    holding: Decimal,
    positions: list[Position],
    open_orders: list[Order],
    marks: dict[str, Decimal],
    specs: dict[str, SymbolSpec],
    leverage_of: dict[str, int],
) -> CrossSummary:
    """Collateral and margin sums of one account (§5.2). leverage_of maps symbol -> CROSS lev."""
    cross_qty: dict[str, Decimal] = {}
    cross_upnl = ZERO
    iso_margin = ZERO
    iso_upnl = ZERO
    for position in positions:
        mark = marks[position.symbol]
        if position.margin_mode == ISOLATED:
            iso_margin += position.margin
            iso_upnl += unsettled_pnl(position, mark)
        else:
            cross_qty[position.symbol] = position.qty
            cross_upnl += unsettled_pnl(position, mark)
    orders_by_symbol: dict[str, list[Order]] = {}
    iso_frozen = ZERO
    for order in open_orders:
        if order.margin_mode == CROSS:
            orders_by_symbol.setdefault(order.symbol, []).append(order)
        else:
            iso_frozen += order.frozen
    total_notional = ZERO
    im = ZERO
    im_orders = ZERO
    mm = ZERO
    for symbol in set(cross_qty) | set(orders_by_symbol):
        spec = specs[symbol]
        mark = marks[symbol]
        qty = cross_qty.get(symbol, ZERO)
        lev = leverage_of[symbol]
        notional = abs(qty) * mark
        total_notional += notional
        im += notional * imr(spec, notional, lev)
        mm += notional * mmr(spec, notional)
        with_orders = qty_with_orders(qty, orders_by_symbol.get(symbol, [])) * mark
        im_orders += with_orders * imr(spec, with_orders, lev)
    total_collateral = holding - iso_frozen + cross_upnl
    return CrossSummary(
        total_collateral=total_collateral,
        total_notional=total_notional,
        initial_margin=im,
        initial_margin_with_orders=im_orders,
        maintenance_margin=mm,
        cross_unsettled_pnl=cross_upnl,
        isolated_margin=iso_margin,
        isolated_order_frozen=iso_frozen,
        isolated_unsettled_pnl=iso_upnl,
    )


def available_for_isolated(holding: Decimal, summary: CrossSummary) -> Decimal:
    """max(0, min(holding, free_collateral − max(cross_upnl, 0))) (§5.4, also max_add)."""
    free = summary.free_collateral - max(summary.cross_unsettled_pnl, ZERO)
    return max(ZERO, min(holding, free))


def max_reduce(position: Position, mark: Decimal, spec: SymbolSpec, leverage: int) -> Decimal:
    """max(0, margin − |notional| × imr + min(0, unsettled_pnl)) (§4.4)."""
    notional = abs(position.qty) * mark
    rate = imr(spec, notional, leverage)
    upnl = unsettled_pnl(position, mark)
    return max(ZERO, position.margin - notional * rate + min(ZERO, upnl))

"""Pure margin maths for Orderly perpetuals: IMR/MMR, isolated liquidation price and its inverse.

Formulas follow shared/orderly-api.md §5 (which cites Orderly's docs and JS SDK); the bounds of
POST /v1/position_margin follow §4.4. The rule evaluator built on these lives in
`margin_rules.py`.

This module must never do I/O, read a clock, draw random numbers or touch the global decimal
context: every computation runs in `MARGIN_CONTEXT` (50 significant digits, enough for the
fractional power notional^0.8 and for the inverse to round-trip far below a cent). Inputs and
outputs are Decimal, never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext

# Traps on InvalidOperation/DivisionByZero/Overflow (the Context defaults) so that a bad input
# fails loudly instead of turning into NaN or Infinity further down.
MARGIN_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
# Orderly's IMRFactorPower: notional^(4/5) everywhere (§5).
_POWER = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class SymbolRisk:
    """A symbol's risk parameters, as in /v1/public/info (or /v1/client/info for imr_factor)."""

    base_imr: Decimal
    base_mmr: Decimal
    imr_factor: Decimal

    def __post_init__(self) -> None:
        if self.base_imr <= 0 or self.base_mmr <= 0:
            raise ValueError("base_imr and base_mmr must be positive")
        if self.imr_factor < 0:
            raise ValueError("imr_factor must not be negative")


def _scaled_power(factor: Decimal, notional: Decimal) -> Decimal:
    """factor × |notional|^0.8, the size-dependent part of both ratios."""
    if factor == 0 or notional == 0:
        return _ZERO
    with localcontext(MARGIN_CONTEXT):
        return factor * abs(notional) ** _POWER


def imr(risk: SymbolRisk, notional: Decimal, leverage: int | Decimal) -> Decimal:
    """Initial margin ratio: max(1/leverage, base_imr, imr_factor × notional^0.8) (§5.1).

    `leverage` is the symbol's configured leverage for the margin mode in question.
    """
    if leverage <= 0:
        raise ValueError("leverage must be positive")
    with localcontext(MARGIN_CONTEXT):
        return max(
            _ONE / Decimal(leverage), risk.base_imr, _scaled_power(risk.imr_factor, notional)
        )


def mmr(risk: SymbolRisk, notional: Decimal) -> Decimal:
    """Maintenance margin ratio: max(base_mmr, base_mmr/base_imr × imr_factor × notional^0.8)."""
    with localcontext(MARGIN_CONTEXT):
        ratio = risk.base_mmr / risk.base_imr
        return max(risk.base_mmr, ratio * _scaled_power(risk.imr_factor, notional))


def position_notional(qty: Decimal, mark: Decimal) -> Decimal:
    """|qty| × mark, the notional every ratio here is evaluated at."""
    with localcontext(MARGIN_CONTEXT):
        return abs(qty) * mark


def liq_denominator(*, qty: Decimal, risk: SymbolRisk, mark: Decimal) -> Decimal:
    """|qty| × MMR − qty: how many USDC of margin move the isolated liq price by one unit.

    MMR is evaluated at the current notional |qty| × mark, as the simulator does (the SDK uses a
    reference price; §5.3 notes the closed form at the current notional). With MMR fixed, the
    liquidation price is a straight line in the margin, which is what makes the inverse exact.
    Negative for a long (adding margin lowers its liq price), positive for a short.
    """
    with localcontext(MARGIN_CONTEXT):
        return abs(qty) * mmr(risk, position_notional(qty, mark)) - qty


def isolated_liq_price(
    *,
    qty: Decimal,
    cost_position: Decimal,
    margin: Decimal,
    risk: SymbolRisk,
    mark: Decimal,
    funding_adj: Decimal = _ZERO,
) -> Decimal | None:
    """Liquidation price of an isolated position (§5.4):

        liq = (margin − cost_position − funding_adj) / (|qty| × MMR − qty)

    with MMR at notional |qty| × mark (see `liq_denominator`). `funding_adj` is
    qty × (sum_unitary_funding − last_sum_unitary_funding). None when there is no position, or
    when the result is ≤ 0 (a long whose margin covers a fall to zero has no liq price).
    """
    if qty == 0:
        return None
    denominator = liq_denominator(qty=qty, risk=risk, mark=mark)
    if denominator == 0:
        return None
    with localcontext(MARGIN_CONTEXT):
        liq = (margin - cost_position - funding_adj) / denominator
    return liq if liq > 0 else None


def margin_for_liq_price(
    *,
    qty: Decimal,
    cost_position: Decimal,
    risk: SymbolRisk,
    mark: Decimal,
    liq_price: Decimal,
    funding_adj: Decimal = _ZERO,
) -> Decimal:
    """The margin at which `isolated_liq_price` equals `liq_price`, in closed form:

        margin = liq_price × (|qty| × MMR − qty) + cost_position + funding_adj

    For a long, `liq_price` 0 gives the margin from which on there is no liq price at all.
    """
    if qty == 0:
        raise ValueError("no position: a flat position has no liquidation price to solve for")
    denominator = liq_denominator(qty=qty, risk=risk, mark=mark)
    if denominator == 0:
        raise ValueError("maintenance margin ratio of 100%: the liq price does not move")
    with localcontext(MARGIN_CONTEXT):
        return liq_price * denominator + cost_position + funding_adj


def adverse_price(*, qty: Decimal, mark: Decimal, move_pct: Decimal) -> Decimal:
    """The price after the mark moves `move_pct` percent against the position.

    Long: mark × (1 − move/100), floored at 0 (a price cannot fall further). Short:
    mark × (1 + move/100). Also the target liq price for a distance of `move_pct`.
    """
    if qty == 0:
        raise ValueError("no position: a flat position has no adverse side")
    with localcontext(MARGIN_CONTEXT):
        if qty > 0:
            return max(_ZERO, mark * (_ONE - move_pct / _HUNDRED))
        return mark * (_ONE + move_pct / _HUNDRED)


def solve_margin_for_distance(
    *,
    qty: Decimal,
    cost_position: Decimal,
    risk: SymbolRisk,
    mark: Decimal,
    distance_pct: Decimal,
    funding_adj: Decimal = _ZERO,
) -> Decimal:
    """The margin that puts the liq price `distance_pct` percent from the mark (formula only)."""
    return margin_for_liq_price(
        qty=qty,
        cost_position=cost_position,
        risk=risk,
        mark=mark,
        liq_price=adverse_price(qty=qty, mark=mark, move_pct=distance_pct),
        funding_adj=funding_adj,
    )


def liq_distance_pct(mark: Decimal, liq_price: Decimal | None) -> Decimal | None:
    """|mark − liq| / mark × 100; None when there is no liq price (infinitely far)."""
    if liq_price is None:
        return None
    with localcontext(MARGIN_CONTEXT):
        return abs(mark - liq_price) / mark * _HUNDRED


def adverse_distance_pct(
    *, qty: Decimal, mark: Decimal, liq_price: Decimal | None
) -> Decimal | None:
    """How far the mark must move against the position to reach the liq price, in percent.

    Equal to `liq_distance_pct` in the normal case; negative when the liq price is already on
    the wrong side of the mark (a long whose liq price is above the mark), which the plain
    distance would hide. None when there is no liq price (infinitely far).
    """
    if liq_price is None:
        return None
    with localcontext(MARGIN_CONTEXT):
        move = (mark - liq_price) if qty > 0 else (liq_price - mark)
        return move / mark * _HUNDRED


def effective_leverage(notional: Decimal, margin: Decimal) -> Decimal | None:
    """notional / margin; None when the margin is zero or negative (unbounded leverage)."""
    if margin <= 0:
        return None
    with localcontext(MARGIN_CONTEXT):
        return notional / margin


def max_add(
    usdc_holding: Decimal, free_collateral: Decimal, total_cross_unsettled_pnl: Decimal
) -> Decimal:
    """Most USDC POST /v1/position_margin ADD accepts (§4.4, JS SDK maxAddReduce.ts):
    max(0, min(holding, free_collateral − max(total_cross_unsettled_pnl, 0)))."""
    with localcontext(MARGIN_CONTEXT):
        return max(
            _ZERO, min(usdc_holding, free_collateral - max(total_cross_unsettled_pnl, _ZERO))
        )


def max_reduce(
    margin: Decimal, notional: Decimal, imr_rate: Decimal, position_unsettled_pnl: Decimal
) -> Decimal:
    """Most USDC POST /v1/position_margin REDUCE accepts (§4.4, JS SDK maxAddReduce.ts):
    max(0, margin − |notional| × imr + min(0, unsettled_pnl)). A losing position can give back
    nothing beyond its initial margin plus its loss."""
    with localcontext(MARGIN_CONTEXT):
        return max(_ZERO, margin - abs(notional) * imr_rate + min(_ZERO, position_unsettled_pnl))


def round_up_cents(amount: Decimal) -> Decimal:
    """To the cent, upwards: the safe direction for margin we ADD."""
    return amount.quantize(_CENT, rounding=ROUND_CEILING, context=MARGIN_CONTEXT)


def round_down_cents(amount: Decimal) -> Decimal:
    """To the cent, downwards: the safe direction for margin we REDUCE and for any cap."""
    return amount.quantize(_CENT, rounding=ROUND_FLOOR, context=MARGIN_CONTEXT)

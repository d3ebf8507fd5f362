"""One isolated position's risk at a given margin: liq price, distance, leverage, stress.

The margin rules (`margin_rules.py`) and the plan renderer read positions through these
helpers. Pure: no I/O, no clock, no randomness, never the global decimal context.

How "now" and "after" are computed. "Now" is the exchange's `est_liq_price` when it gives one
(> 0), else the formula of `margin.py`. A projection at another margin uses the formula's line
liq(m) = (m − k) / (|qty| × MMR − qty), whose slope is fixed because MMR depends on the
notional only; its intercept k is calibrated so that the line passes through the exchange's
figure at today's margin. So after = est_liq_price + Δmargin / (|qty| × MMR − qty): the shift the
formula predicts, applied to the exchange's own figure, even when the two differ slightly. The
same line gives the margin needed for a target distance, so solving and projecting agree.

Distances are signed (`adverse_distance_pct`): how far the mark must move against the position
to reach the liq price, negative if it already has; None means no liq price (infinitely far).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from runner.reconcile.margin import (
    MARGIN_CONTEXT,
    SymbolRisk,
    adverse_distance_pct,
    adverse_price,
    effective_leverage,
    imr,
    liq_denominator,
    max_reduce,
    position_notional,
)

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class IsolatedPosition:
    """One isolated position as the exchange reports it now (a row of GET /v1/positions)."""

    symbol: str
    qty: Decimal
    cost_position: Decimal
    margin: Decimal
    mark: Decimal
    est_liq_price: Decimal | None
    leverage: int
    unsettled_pnl: Decimal
    funding_adj: Decimal = _ZERO

    @property
    def notional(self) -> Decimal:
        return position_notional(self.qty, self.mark)


@dataclass(frozen=True, slots=True)
class MarginProjection:
    """The risk of a position at some margin: liq price, its signed distance, leverage."""

    margin: Decimal
    liq_price: Decimal | None
    distance_pct: Decimal | None
    leverage: Decimal | None


@dataclass(frozen=True, slots=True)
class LiqLine:
    """liq(m) = (m − intercept) / denominator, calibrated on the exchange's figure (see top)."""

    qty: Decimal
    mark: Decimal
    denominator: Decimal
    intercept: Decimal
    # The exchange's figure at today's margin, returned as is rather than recomputed.
    anchor_margin: Decimal
    anchor_liq: Decimal | None

    def liq_price(self, margin: Decimal) -> Decimal | None:
        if margin == self.anchor_margin and self.anchor_liq is not None:
            return self.anchor_liq
        with localcontext(MARGIN_CONTEXT):
            liq = (margin - self.intercept) / self.denominator
        return liq if liq > 0 else None

    def margin_for_distance(self, distance_pct: Decimal) -> Decimal:
        target = adverse_price(qty=self.qty, mark=self.mark, move_pct=distance_pct)
        with localcontext(MARGIN_CONTEXT):
            return target * self.denominator + self.intercept


def liq_line(position: IsolatedPosition, risk: SymbolRisk) -> LiqLine:
    """The position's liq price as a function of its margin, through the exchange's figure."""
    denominator = liq_denominator(qty=position.qty, risk=risk, mark=position.mark)
    if position.qty > 0 and denominator >= 0:
        raise ValueError(
            f"{position.symbol}: maintenance margin ratio >= 100% at this notional; "
            "no liquidation price can be computed"
        )
    est = position.est_liq_price
    if est is not None and est <= 0:
        est = None  # "no liq price" spelt as 0: fall back to the formula
    with localcontext(MARGIN_CONTEXT):
        if est is not None:
            intercept = position.margin - est * denominator
        else:
            intercept = position.cost_position + position.funding_adj
    return LiqLine(position.qty, position.mark, denominator, intercept, position.margin, est)


def liq_price_now(position: IsolatedPosition, risk: SymbolRisk) -> Decimal | None:
    """The exchange's est_liq_price when it gives one, else the formula's."""
    if position.qty == 0:
        return None
    return liq_line(position, risk).liq_price(position.margin)


def project_margin(
    position: IsolatedPosition, risk: SymbolRisk, margin_after: Decimal
) -> MarginProjection:
    """The position's risk if its margin were `margin_after` (mark and size unchanged)."""
    if position.qty == 0:
        return MarginProjection(margin_after, None, None, None)
    liq = liq_line(position, risk).liq_price(margin_after)
    return MarginProjection(
        margin=margin_after,
        liq_price=liq,
        distance_pct=adverse_distance_pct(qty=position.qty, mark=position.mark, liq_price=liq),
        leverage=effective_leverage(position.notional, margin_after),
    )


def survivable_move_pct(position: IsolatedPosition, risk: SymbolRisk) -> Decimal | None:
    """How far (percent) the mark can move against the position before liquidation; None: any."""
    return project_margin(position, risk, position.margin).distance_pct


def stress(position: IsolatedPosition, risk: SymbolRisk, move_pct: Decimal) -> bool:
    """True if the position survives an adverse move of `move_pct` percent of the mark, i.e.
    its liq price lies strictly beyond the moved price (at the liq price it is liquidated)."""
    if position.qty == 0:
        return True
    liq = liq_price_now(position, risk)
    if liq is None:
        return True
    moved = adverse_price(qty=position.qty, mark=position.mark, move_pct=move_pct)
    return liq < moved if position.qty > 0 else liq > moved


def position_max_reduce(position: IsolatedPosition, risk: SymbolRisk) -> Decimal:
    """`margin.max_reduce` for this position, with IMR at its configured leverage."""
    notional = position.notional
    rate = imr(risk, notional, position.leverage)
    return max_reduce(position.margin, notional, rate, position.unsettled_pnl)

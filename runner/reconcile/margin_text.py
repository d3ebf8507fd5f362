"""Sentences a trader reads in a plan: why a margin rule acts, and what held it back.

Used by `margin_rules.py` to fill `MarginDecision.reason` and `.message`. Pure string building
from Decimals (formatted inside the margin context, never the global one); no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from runner.reconcile.margin import MARGIN_CONTEXT

if TYPE_CHECKING:
    from runner.reconcile.margin_position import IsolatedPosition, MarginProjection
    from runner.reconcile.margin_rules import MarginRule


def usd(amount: Decimal) -> str:
    """An amount of USDC: thousands separators, two decimals."""
    with localcontext(MARGIN_CONTEXT):
        return f"{amount:,.2f}"


def price(value: Decimal) -> str:
    """A price with enough decimals to be read for cheap coins as for BTC (5+ significant)."""
    with localcontext(MARGIN_CONTEXT):
        places = max(2, 5 - value.adjusted()) if value != 0 else 2
        return f"{value:,.{places}f}"


def pct(value: Decimal) -> str:
    with localcontext(MARGIN_CONTEXT):
        return f"{value:.2f}%"


def leverage(value: Decimal | None) -> str:
    if value is None:
        return "unbounded leverage (no margin)"
    with localcontext(MARGIN_CONTEXT):
        return f"{value:.2f}x"


def _where_liq(position: IsolatedPosition, before: MarginProjection) -> str:
    if before.liq_price is None or before.distance_pct is None:
        return "the position has no liquidation price"
    where = (
        f"{pct(before.distance_pct)} from the mark {price(position.mark)}"
        if before.distance_pct >= 0
        else f"already past the mark {price(position.mark)}"
    )
    return f"the liquidation price {price(before.liq_price)} is {where}"


def describe_demand(
    kind: str,
    position: IsolatedPosition,
    before: MarginProjection,
    threshold: Decimal,
    target: Decimal,
) -> str:
    """Why one rule asks for an ADD or a REDUCE."""
    if kind == "liq_min":
        return (
            f"{_where_liq(position, before)}, closer than the {pct(threshold)} minimum: "
            f"add margin to move it {pct(target)} away"
        )
    if kind == "liq_max":
        return (
            f"{_where_liq(position, before)}, farther than the {pct(threshold)} maximum: "
            f"take margin back to bring it {pct(target)} away"
        )
    if kind == "lev_max":
        return (
            f"effective leverage {leverage(before.leverage)} (notional "
            f"{usd(position.notional)} / margin {usd(position.margin)} USDC) is above the "
            f"band's {leverage(threshold)}: add margin to bring it down to {leverage(target)}"
        )
    if kind == "lev_min":
        return (
            f"effective leverage {leverage(before.leverage)} is below the band's "
            f"{leverage(threshold)}: take margin back to bring it up to {leverage(target)}"
        )
    if kind == "bounds_min":
        return (
            f"margin {usd(position.margin)} USDC is below the {usd(threshold)} USDC minimum: "
            "add up to it"
        )
    if kind == "bounds_max":
        return (
            f"margin {usd(position.margin)} USDC is above the {usd(threshold)} USDC maximum: "
            "take back down to it"
        )
    raise ValueError(f"unknown demand kind {kind!r}")


_CAP_TEXT = {
    "max_add": "the exchange accepts at most {} USDC (USDC balance / free collateral)",
    "budget": "the daily margin budget has {} USDC left",
    "max_isolated_margin": "the playbook's isolated margin cap leaves room for {} USDC",
    "min_free_collateral": "free collateral above the playbook's minimum is {} USDC",
    "max_margin": "max_margin leaves room for {} USDC",
    "margin_bounds": "margin_bounds' max leaves room for {} USDC",
}


def describe_add_caps(cut: Sequence[tuple[str, Decimal]]) -> str:
    """What cut an ADD, each limit with what it still allows."""
    return "; ".join(_CAP_TEXT[name].format(usd(allowed)) for name, allowed in cut)


_FLOOR_TEXT = {
    "liq_distance": "the liquidation price must stay at its target distance from the mark",
    "leverage_band": "effective leverage must stay within the band's max",
    "margin_bounds": "margin must stay at or above margin_bounds' min",
}


def describe_held_reduce(
    held: Sequence[tuple[str, Decimal]], highest: Decimal, margin: Decimal
) -> str:
    """Why a REDUCE stops short: the floors of other rules."""
    reasons = ", and ".join(_FLOOR_TEXT[name] for name, _ in held)
    if highest >= margin:
        return f"no margin is taken back because {reasons} ({usd(highest)} USDC needed)"
    return f"margin is not taken below {usd(highest)} USDC because {reasons}"


def describe_in_line(position: IsolatedPosition, rule: MarginRule, before: MarginProjection) -> str:
    """The NONE case: the state, said once, and that it is within the rules."""
    parts = [f"margin {usd(position.margin)} USDC"]
    if rule.liq_distance is not None:
        parts.append(_where_liq(position, before))
    if rule.leverage_band is not None:
        parts.append(f"effective leverage {leverage(before.leverage)}")
    return ", ".join(parts) + ": within the rules"

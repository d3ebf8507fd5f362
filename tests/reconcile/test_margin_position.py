"""A position's risk at a margin: exchange-anchored liq price, projections, stress."""

from __future__ import annotations

from decimal import Decimal as D

from runner.reconcile.margin import SymbolRisk
from runner.reconcile.margin_position import (
    IsolatedPosition,
    liq_price_now,
    position_max_reduce,
    project_margin,
    stress,
    survivable_move_pct,
)

FLAT = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D(0))


def long_eth(margin: D = D(300), est: D | None = None) -> IsolatedPosition:
    return IsolatedPosition(
        symbol="PERP_ETH_USDC",
        qty=D(1),
        cost_position=D(3000),
        margin=margin,
        mark=D(3000),
        est_liq_price=est,
        leverage=10,
        unsettled_pnl=D(0),
    )


def short_eth(margin: D = D(300)) -> IsolatedPosition:
    return IsolatedPosition(
        symbol="PERP_ETH_USDC",
        qty=D(-1),
        cost_position=D(-3000),
        margin=margin,
        mark=D(3000),
        est_liq_price=None,
        leverage=10,
        unsettled_pnl=D(0),
    )


def test_now_is_the_exchange_figure_when_given_else_the_formula() -> None:
    assert liq_price_now(long_eth(est=D(2700)), FLAT) == D(2700)
    # formula: (300 − 3000) / −0.994 = 2716.2977...
    assert round(liq_price_now(long_eth(), FLAT) or D(0), 4) == D("2716.2978")
    # 0 from the exchange means "none given": the formula answers
    assert liq_price_now(long_eth(est=D(0)), FLAT) == liq_price_now(long_eth(), FLAT)


def test_projection_shifts_the_exchange_figure_by_the_formula_shift() -> None:
    # the exchange says 2700 (formula 2716.30). Adding 298.20 moves the liq price by
    # 298.2 / −0.994 = −300, so to 2400, i.e. 20% from the 3000 mark.
    after = project_margin(long_eth(est=D(2700)), FLAT, D("598.2"))
    assert after.liq_price == D(2400)
    assert after.distance_pct == D(20)
    assert round(after.leverage or D(0), 6) == D("5.015045")  # 3000 / 598.2


def test_stress_says_whether_the_liq_price_lies_beyond_the_move() -> None:
    # long liq 2716.30 (9.46% away): a 5% fall to 2850 survives, a 10% fall to 2700 does not
    assert stress(long_eth(), FLAT, D(5))
    assert not stress(long_eth(), FLAT, D(10))
    # short liq 3300 / 1.006 = 3280.32 (9.34% away): +9% = 3270 survives, +10% = 3300 does not
    assert stress(short_eth(), FLAT, D(9))
    assert not stress(short_eth(), FLAT, D(10))
    # liquidated exactly at the liq price: a move that lands on it is not survived
    assert not stress(long_eth(est=D(2700)), FLAT, D(10))
    # no liq price: survives anything
    assert stress(long_eth(margin=D(3000)), FLAT, D(99))
    assert survivable_move_pct(long_eth(margin=D(3000)), FLAT) is None


def test_max_reduce_of_a_position_uses_its_leverage() -> None:
    # margin 614.40, notional 3000 at 10x (IMR 0.1): 614.4 − 300 + min(0, −50) = 264.40
    position = IsolatedPosition(
        symbol="PERP_ETH_USDC",
        qty=D(1),
        cost_position=D(3000),
        margin=D("614.4"),
        mark=D(3000),
        est_liq_price=None,
        leverage=10,
        unsettled_pnl=D(-50),
    )
    assert position_max_reduce(position, FLAT) == D("264.4")

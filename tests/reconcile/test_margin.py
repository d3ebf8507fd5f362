"""The margin formulas: IMR/MMR, isolated liq price and its inverse, position_margin bounds.

Hand-computed cases carry their arithmetic in comments; property tests cover the rest.
"""

from __future__ import annotations

from decimal import Decimal as D
from decimal import localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.reconcile.margin import (
    MARGIN_CONTEXT,
    SymbolRisk,
    adverse_distance_pct,
    adverse_price,
    effective_leverage,
    imr,
    isolated_liq_price,
    liq_distance_pct,
    margin_for_liq_price,
    max_add,
    max_reduce,
    mmr,
    round_down_cents,
    round_up_cents,
    solve_margin_for_distance,
)

BTC = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D("0.000000091"))
ETH = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D("0.0000001724"))
SOL = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D("0.0000010667"))
ALT = SymbolRisk(base_imr=D("0.05"), base_mmr=D("0.025"), imr_factor=D(0))
FLAT = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D(0))
RISKS = st.sampled_from([BTC, ETH, SOL, ALT, FLAT])


def close(a: D, b: D, rel: D = D("1e-8")) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), D(1))


def test_sdk_example_liq_price_is_50256_41() -> None:
    # §5.4: margin 2000, cost 100000, qty 2, MMR 0.025 (imr_factor 0, so MMR = base_mmr)
    # liq = (2000 − 100000) / (2 × 0.025 − 2) = −98000 / −1.95 = 50256.4102...
    liq = isolated_liq_price(
        qty=D(2), cost_position=D(100000), margin=D(2000), risk=ALT, mark=D(50000)
    )
    assert liq is not None
    assert liq.quantize(D("0.01")) == D("50256.41")


def test_imr_takes_the_largest_of_leverage_base_and_size_terms() -> None:
    # BTC at notional 1e6: 9.1e-8 × (1e6)^0.8 = 9.1e-8 × 63095.73 = 0.0057417
    # lev 10: max(0.1, 0.01, 0.0057) = 0.1; lev 100: max(0.01, 0.01, 0.0057) = 0.01
    assert imr(BTC, D(1_000_000), 10) == D("0.1")
    assert imr(BTC, D(1_000_000), 100) == D("0.01")
    # at 1e7: 9.1e-8 × 10^5.6 = 9.1e-8 × 398107.17 = 0.0362278 > 0.01 (lev 100)
    assert close(imr(BTC, D(10_000_000), 100), D("0.0362277525"))


def test_mmr_scales_the_size_term_by_base_mmr_over_base_imr() -> None:
    # at 1e6 the size term 0.6 × 0.0057417 = 0.003445 < base 0.006
    assert mmr(BTC, D(1_000_000)) == D("0.006")
    # at 1e7: 0.6 × 0.0362277525 = 0.0217366515
    assert close(mmr(BTC, D(10_000_000)), D("0.0217366515"))
    assert mmr(ALT, D(10**9)) == D("0.025")  # imr_factor 0: base only


def test_long_liq_price_by_hand() -> None:
    # long 1 @ 3000, margin 300: liq = (300 − 3000) / (1 × 0.006 − 1) = 2700 / 0.994
    liq = isolated_liq_price(
        qty=D(1), cost_position=D(3000), margin=D(300), risk=FLAT, mark=D(3000)
    )
    assert liq is not None
    assert close(liq, D(2700) / D("0.994"))  # 2716.2977...
    # distance = (3000 − 2716.2978) / 3000 × 100 = 9.4567%
    assert close(liq_distance_pct(D(3000), liq) or D(0), D("9.4567404426559356"))


def test_short_liq_price_by_hand() -> None:
    # short 1 @ 3000 (cost −3000), margin 300: liq = (300 + 3000) / (0.006 + 1) = 3300 / 1.006
    liq = isolated_liq_price(
        qty=D(-1), cost_position=D(-3000), margin=D(300), risk=FLAT, mark=D(3000)
    )
    assert liq is not None
    assert close(liq, D(3300) / D("1.006"))  # 3280.3181...


def test_funding_adjustment_moves_the_liq_price() -> None:
    # a long that owes 10 USDC of funding: (300 − 3000 − 10) / −0.994 = 2726.36
    liq = isolated_liq_price(
        qty=D(1), cost_position=D(3000), margin=D(300), risk=FLAT, mark=D(3000), funding_adj=D(10)
    )
    assert liq is not None
    assert close(liq, D(2710) / D("0.994"))


def test_no_liq_price_when_flat_or_margin_covers_a_fall_to_zero() -> None:
    assert (
        isolated_liq_price(qty=D(0), cost_position=D(0), margin=D(5), risk=FLAT, mark=D(1)) is None
    )
    # long 1 @ 3000 with 3000 margin: (3000 − 3000) / −0.994 = 0 → none
    assert (
        isolated_liq_price(qty=D(1), cost_position=D(3000), margin=D(3000), risk=FLAT, mark=D(3000))
        is None
    )
    assert liq_distance_pct(D(3000), None) is None


def test_inverse_by_hand_long_and_short() -> None:
    # long: target 20% → liq 2400; margin = 2400 × (0.006 − 1) + 3000 = 3000 − 2385.6 = 614.4
    assert solve_margin_for_distance(
        qty=D(1), cost_position=D(3000), risk=FLAT, mark=D(3000), distance_pct=D(20)
    ) == D("614.4")
    # short: target 20% → liq 3600; margin = 3600 × 1.006 − 3000 = 3621.6 − 3000 = 621.6
    assert solve_margin_for_distance(
        qty=D(-1), cost_position=D(-3000), risk=FLAT, mark=D(3000), distance_pct=D(20)
    ) == D("621.6")


def test_adverse_price_and_signed_distance() -> None:
    assert adverse_price(qty=D(1), mark=D(200), move_pct=D(10)) == D(180)
    assert adverse_price(qty=D(-1), mark=D(200), move_pct=D(10)) == D(220)
    assert adverse_price(qty=D(1), mark=D(200), move_pct=D(150)) == D(0)  # floored at zero
    # a long whose liq price is above the mark is already past it: negative distance
    assert adverse_distance_pct(qty=D(1), mark=D(100), liq_price=D(105)) == D(-5)
    assert liq_distance_pct(D(100), D(105)) == D(5)
    assert adverse_distance_pct(qty=D(-1), mark=D(100), liq_price=D(105)) == D(5)


def test_position_margin_bounds_by_hand() -> None:
    # max_add = max(0, min(holding, free − max(cross upnl, 0)))
    assert max_add(D(1000), D(800), D(300)) == D(500)  # min(1000, 800 − 300)
    assert max_add(D(1000), D(800), D(-300)) == D(800)  # a cross loss does not count here
    assert max_add(D(100), D(50), D(80)) == D(0)  # 50 − 80 < 0
    # max_reduce = max(0, margin − notional × imr + min(0, upnl))
    assert max_reduce(D("614.4"), D(3000), D("0.1"), D(-50)) == D("264.4")  # 614.4 − 300 − 50
    assert max_reduce(D(300), D(3000), D("0.1"), D(20)) == D(0)  # gains do not count


def test_cents_round_in_the_named_direction() -> None:
    assert round_up_cents(D("1.001")) == D("1.01")
    assert round_down_cents(D("1.009")) == D("1.00")
    assert round_up_cents(D("-0.001")) == D("0.00")
    assert effective_leverage(D(3000), D(300)) == D(10)
    assert effective_leverage(D(3000), D(0)) is None


def test_invalid_inputs_fail_loudly() -> None:
    with pytest.raises(ValueError, match="flat position"):
        margin_for_liq_price(qty=D(0), cost_position=D(0), risk=FLAT, mark=D(1), liq_price=D(1))
    with pytest.raises(ValueError, match="leverage"):
        imr(FLAT, D(1), 0)
    with pytest.raises(ValueError, match="positive"):
        SymbolRisk(base_imr=D(0), base_mmr=D("0.01"), imr_factor=D(0))


positions = st.tuples(
    st.integers(1, 10_000_000).map(lambda n: D(n) / 100),  # mark 0.01 .. 100k
    st.integers(1_000, 200_000_000).map(lambda n: D(n) / 100),  # notional 10 .. 2M
    st.booleans(),  # long?
    st.integers(-3000, 3000).map(lambda n: D(n) / 10_000),  # entry vs mark, ±30%
)


def _position(pos: tuple[D, D, bool, D]) -> tuple[D, D, D]:
    """(mark, qty, cost_position) of a generated position."""
    mark, notional, long, entry_shift = pos
    with localcontext(MARGIN_CONTEXT):
        qty = (notional / mark) * (1 if long else -1)
        return mark, qty, qty * mark * (1 + entry_shift)


@settings(max_examples=300, deadline=None)
@given(positions, RISKS, st.integers(0, 20_000).map(lambda n: D(n) / 100))
def test_solved_margin_gives_back_the_target_liq_price(
    pos: tuple[D, D, bool, D], risk: SymbolRisk, distance: D
) -> None:
    mark, qty, cost = _position(pos)
    target = adverse_price(qty=qty, mark=mark, move_pct=distance)
    margin = margin_for_liq_price(
        qty=qty, cost_position=cost, risk=risk, mark=mark, liq_price=target, funding_adj=D("1.5")
    )
    liq = isolated_liq_price(
        qty=qty, cost_position=cost, margin=margin, risk=risk, mark=mark, funding_adj=D("1.5")
    )
    if target == 0:
        assert liq is None  # a long solved for "no liq price at all"
    else:
        assert liq is not None
        assert close(liq, target)


@settings(max_examples=200, deadline=None)
@given(positions, RISKS, st.integers(1, 10**6).map(lambda n: D(n) / 100))
def test_more_margin_always_moves_the_liq_price_away(
    pos: tuple[D, D, bool, D], risk: SymbolRisk, extra: D
) -> None:
    mark, qty, cost = _position(pos)
    margin = abs(qty) * mark / 10

    def distance(m: D) -> D | None:
        liq = isolated_liq_price(qty=qty, cost_position=cost, margin=m, risk=risk, mark=mark)
        return adverse_distance_pct(qty=qty, mark=mark, liq_price=liq)

    before, after = distance(margin), distance(margin + extra)
    assert after is None or (before is not None and after > before)

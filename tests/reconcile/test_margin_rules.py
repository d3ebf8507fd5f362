"""The margin rule evaluator: hand-computed decisions, then properties over random states.

Hand cases use ETH-like risk with imr_factor 0, so MMR = 0.006 and for 1 ETH at 3000
the liq price moves by 1/0.994 per USDC of margin (long) or 1/1.006 (short).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, localcontext
from decimal import Decimal as D

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from runner.enums import MarginAdjustment
from runner.playbook.model import Band, LiqDistance, MarginRuleSpec
from runner.reconcile.margin import MARGIN_CONTEXT, SymbolRisk, isolated_liq_price
from runner.reconcile.margin_position import IsolatedPosition, project_margin
from runner.reconcile.margin_rules import (
    MarginDecision,
    MarginLimits,
    MarginRule,
    evaluate_margin_rule,
    margin_rule_from_spec,
)

ADD, REDUCE = MarginAdjustment.ADD, MarginAdjustment.REDUCE
FLAT = SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D(0))
OPEN = MarginLimits(max_add=D(10**6), max_reduce=D(10**6))
LIQ = MarginRule(liq_distance=(D(15), D(20), D(40)))
UNLIMITED = MarginLimits(max_add=D(10**15), max_reduce=D(10**15))
TOL = D("1e-20")


def eth(qty: D = D(1), margin: D = D(300), est: D | None = None) -> IsolatedPosition:
    """`qty` ETH entered at the 3000 mark."""
    return IsolatedPosition(
        symbol="PERP_ETH_USDC",
        qty=qty,
        cost_position=qty * 3000,
        margin=margin,
        mark=D(3000),
        est_liq_price=est,
        leverage=10,
        unsettled_pnl=D(0),
    )


def decide(
    position: IsolatedPosition, rule: MarginRule, limits: MarginLimits = OPEN
) -> MarginDecision:
    return evaluate_margin_rule(position, FLAT, rule, limits)


def test_long_too_close_adds_up_to_the_target_distance() -> None:
    # liq (300 − 3000)/−0.994 = 2716.30, 9.46% < 15%: target 20% → liq 2400 →
    # margin 2400 × −0.994 + 3000 = 614.40 → ADD 314.40
    d = decide(eth(), LIQ)
    assert (d.action, d.amount) == (ADD, D("314.40"))
    assert d.after.distance_pct == D(20)
    assert d.triggered_by == ("liq_distance",)
    assert "closer than the 15.00% minimum" in d.reason
    assert not d.blocked


def test_short_too_close_adds_up_to_the_target_distance() -> None:
    # liq (300 + 3000)/1.006 = 3280.32, 9.34%: target 3600 → 3600 × 1.006 − 3000 = 621.60
    d = decide(eth(qty=D(-1)), LIQ)
    assert (d.action, d.amount) == (ADD, D("321.60"))
    assert d.after.liq_price == D(3600)


def test_short_too_far_takes_margin_back_to_the_target() -> None:
    # margin 1500: liq 4500/1.006 = 4473.16, 49.1% > 40% → back to 621.60 → REDUCE 878.40
    d = decide(eth(qty=D(-1), margin=D(1500)), LIQ)
    assert (d.action, d.amount) == (REDUCE, D("878.40"))
    assert "farther than the 40.00% maximum" in d.reason


def test_the_exchange_liq_price_is_now_and_the_formula_gives_the_shift() -> None:
    # the exchange says 2700 (formula 2716.30): to 2400 is −300 → 300 × 0.994 = 298.20
    d = decide(eth(est=D(2700)), LIQ)
    assert d.before.liq_price == D(2700)
    assert (d.action, d.amount) == (ADD, D("298.20"))
    assert d.after.liq_price == D(2400)


def test_no_liq_price_counts_as_too_far() -> None:
    # margin 3000 covers a fall to zero; target margin 614.40 → REDUCE 2385.60
    d = decide(eth(margin=D(3000)), LIQ)
    assert d.before.liq_price is None
    assert (d.action, d.amount) == (REDUCE, D("2385.60"))


def test_within_the_rules_does_nothing() -> None:
    # margin 1000: liq (1000 − 3000)/−0.994 = 2012.07, 32.9%: inside 15..40
    d = decide(eth(margin=D(1000)), LIQ)
    assert (d.action, d.amount, d.blocked) == (None, D(0), False)
    assert d.after == d.before
    assert "within the rules" in d.reason


def test_leverage_band_adds_above_max_and_reduces_below_min() -> None:
    # notional 3000, margin 300: 10x > 5x → margin 3000/5 = 600 → ADD 300
    d = decide(eth(), MarginRule(leverage_band=(D(2), D(5))))
    assert (d.action, d.amount) == (ADD, D("300.00"))
    assert d.after.leverage == D(5)
    # 10x < 12x → margin 3000/12 = 250 → REDUCE 50
    d = decide(eth(), MarginRule(leverage_band=(D(12), D(20))))
    assert (d.action, d.amount) == (REDUCE, D("50.00"))


def test_margin_bounds_keep_margin_between_min_and_max() -> None:
    assert decide(eth(), MarginRule(margin_bounds=(D(500), None))).amount == D("200.00")
    d = decide(eth(margin=D(2000)), MarginRule(margin_bounds=(None, D(1500))))
    assert (d.action, d.amount) == (REDUCE, D("500.00"))


def test_safety_add_beats_a_leverage_reduce() -> None:
    # liq wants 614.40 (ADD); leverage band (12, 20) wants 250 (REDUCE): ADD wins
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), leverage_band=(D(12), D(20)))
    d = decide(eth(), rule)
    assert (d.action, d.amount) == (ADD, D("314.40"))
    assert "overrides the leverage band" in d.reason


def test_the_most_demanding_add_wins() -> None:
    # liq wants 614.40, margin_bounds min 700 → ADD 400
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), margin_bounds=(D(700), None))
    d = decide(eth(), rule)
    assert d.amount == D("400.00")
    assert set(d.triggered_by) == {"liq_distance", "margin_bounds"}


def test_reduce_stops_at_the_floor_of_another_rule() -> None:
    # margin 2000: liq (2000 − 3000)/−0.994 = 1006.04, 66.5% > 40% → wants 614.40;
    # leverage band max 4x needs 3000/4 = 750 → REDUCE only 1250
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), leverage_band=(D(1), D(4)))
    d = decide(eth(margin=D(2000)), rule)
    assert (d.action, d.amount) == (REDUCE, D("1250.00"))
    assert d.constrained_by == ("leverage_band",)
    # margin_bounds min 1000 instead → REDUCE 1000
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), margin_bounds=(D(1000), D(1500)))
    d = decide(eth(margin=D(2000)), rule)
    assert (d.action, d.amount) == (REDUCE, D("1000.00"))
    assert d.constrained_by == ("margin_bounds",)


def test_a_reduce_of_another_rule_never_takes_the_liq_distance_below_target() -> None:
    # margin 550: liq 2464.79, 17.8% (between min 15 and target 20). margin_bounds max 500
    # asks for 50 back, but the target (614.40) is above today's margin: nothing moves
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), margin_bounds=(None, D(500)))
    d = decide(eth(margin=D(550)), rule)
    assert d.action is None
    assert not d.blocked
    assert d.demanded == REDUCE
    assert "liquidation price must stay" in d.reason


def test_max_margin_cuts_an_add_and_says_so() -> None:
    rule = MarginRule(liq_distance=(D(15), D(20), D(40)), max_margin=D(500))
    d = decide(eth(), rule)
    assert (d.action, d.amount, d.desired_amount) == (ADD, D("200.00"), D("314.40"))
    assert d.constrained_by == ("max_margin",)
    assert d.message is not None
    assert "adds only 200.00 of the 314.40" in d.message


def test_every_limit_that_cuts_is_named() -> None:
    limits = MarginLimits(
        max_add=D("100.009"),
        max_reduce=D(0),
        budget_left=D(50),
        isolated_margin_headroom=D(1000),
        min_free_collateral_headroom=D(80),
    )
    d = decide(eth(), LIQ, limits)
    assert d.amount == D("50.00")
    assert d.constrained_by == ("max_add", "budget", "min_free_collateral")


@pytest.mark.parametrize(
    ("limits", "culprit", "words"),
    [
        (MarginLimits(max_add=D(10**6), max_reduce=D(0), budget_left=D(0)), "budget", "budget"),
        (MarginLimits(max_add=D("0.004"), max_reduce=D(0)), "max_add", "exchange accepts"),
        (
            MarginLimits(max_add=D(10**6), max_reduce=D(0), min_free_collateral_headroom=D(0)),
            "min_free_collateral",
            "free collateral",
        ),
        (
            MarginLimits(max_add=D(10**6), max_reduce=D(0), isolated_margin_headroom=D(-5)),
            "max_isolated_margin",
            "isolated margin cap",
        ),
    ],
)
def test_an_add_that_cannot_happen_is_blocked_loudly(
    limits: MarginLimits, culprit: str, words: str
) -> None:
    d = decide(eth(), LIQ, limits)
    assert d.blocked
    assert (d.action, d.amount, d.demanded) == (None, D(0), ADD)
    assert d.constrained_by == (culprit,)
    assert d.message is not None
    assert "BLOCKED" in d.message
    assert words in d.message


def test_an_add_capped_by_margin_bounds_max_already_reached_is_blocked() -> None:
    # 2 ETH, margin 1100: liq (1100 − 6000)/(2 × 0.006 − 2) = 2464.79, 17.8% < 20% min;
    # margin_bounds max 1000 leaves no room at all
    rule = MarginRule(liq_distance=(D(20), D(25), D(40)), margin_bounds=(None, D(1000)))
    d = decide(eth(qty=D(2), margin=D(1100)), rule)
    assert d.blocked
    assert d.constrained_by == ("margin_bounds",)


def test_a_reduce_the_exchange_refuses_is_blocked() -> None:
    d = decide(eth(qty=D(-1), margin=D(1500)), LIQ, MarginLimits(max_add=D(0), max_reduce=D(0)))
    assert d.blocked
    assert (d.action, d.demanded) == (None, REDUCE)
    assert d.constrained_by == ("max_reduce",)
    assert d.message is not None
    assert "allows none" in d.message


def test_less_than_a_cent_is_not_worth_a_reduce() -> None:
    # 3000/12 = 250, margin 250.009: 0.009 to take back rounds down to nothing
    d = decide(eth(margin=D("250.009")), MarginRule(leverage_band=(D(12), None)))
    assert d.action is None
    assert not d.blocked


def test_flat_position_needs_nothing() -> None:
    d = decide(eth(qty=D(0)), LIQ)
    assert d.action is None
    assert not d.blocked


def test_rule_from_the_playbook_model() -> None:
    spec = MarginRuleSpec(
        liq_distance=LiqDistance(min_pct=D(15), target_pct=D(20), max_pct=D(40)),
        leverage_band=Band(min=None, max=D(10)),
        max_margin=D(1500),
    )
    assert margin_rule_from_spec(spec) == MarginRule(
        liq_distance=(D(15), D(20), D(40)),
        leverage_band=(None, D(10)),
        max_margin=D(1500),
    )


def test_inconsistent_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="min_pct"):
        MarginRule(liq_distance=(D(20), D(15), D(40)))
    with pytest.raises(ValueError, match="min <= max"):
        MarginRule(margin_bounds=(D(10), D(5)))
    with pytest.raises(ValueError, match="positive"):
        MarginRule(leverage_band=(D(0), D(5)))


# --- properties ------------------------------------------------------------------------------

RISKS = st.sampled_from(
    [
        FLAT,
        SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D("0.000000091")),
        SymbolRisk(base_imr=D("0.01"), base_mmr=D("0.006"), imr_factor=D("0.0000010667")),
        SymbolRisk(base_imr=D("0.05"), base_mmr=D("0.025"), imr_factor=D(0)),
        SymbolRisk(base_imr=D("0.1"), base_mmr=D("0.05"), imr_factor=D("0.000002")),
    ]
)
cents = st.integers(0, 10**8).map(lambda n: D(n) / 100)
pcts = st.integers(0, 12_000).map(lambda n: D(n) / 100)
maybe = st.one_of


@st.composite
def states(
    draw: st.DrawFn, exchange_noise: bool = True, max_margin_per_mille: int = 2000
) -> tuple[IsolatedPosition, SymbolRisk]:
    risk = draw(RISKS)
    mark = D(draw(st.integers(1, 10_000_000))) / 100
    notional = D(draw(st.integers(1_000, 200_000_000))) / 100
    long = draw(st.booleans())
    with localcontext(MARGIN_CONTEXT):
        qty = notional / mark * (1 if long else -1)
        cost = qty * mark * (1 + D(draw(st.integers(-3000, 3000))) / 10_000)
        margin = (notional * D(draw(st.integers(5, max_margin_per_mille))) / 1000).quantize(
            D("0.01")
        )
        funding = D(draw(st.integers(-1000, 1000))) / 100
        est = None
        if exchange_noise and draw(st.booleans()):
            formula = isolated_liq_price(
                qty=qty,
                cost_position=cost,
                margin=margin,
                risk=risk,
                mark=mark,
                funding_adj=funding,
            )
            if formula is not None:
                est = formula * (1 + D(draw(st.integers(-200, 200))) / 10_000)
    position = IsolatedPosition(
        symbol="PERP_X_USDC",
        qty=qty,
        cost_position=cost,
        margin=margin,
        mark=mark,
        est_liq_price=est,
        leverage=draw(st.integers(1, 50)),
        unsettled_pnl=qty * mark - cost,
        funding_adj=funding,
    )
    return position, risk


@st.composite
def rules(draw: st.DrawFn, liq_required: bool = False, caps: bool = True) -> MarginRule:
    liq = None
    if liq_required or draw(st.booleans()):
        low, target, high = sorted(draw(st.lists(pcts, min_size=3, max_size=3)))
        liq = (low, target, high)
    lev_ends = st.one_of(st.none(), st.integers(1, 100).map(D))
    lev = tuple(sorted(draw(st.lists(lev_ends, min_size=2, max_size=2)), key=_none_low))
    bounds = tuple(
        sorted(draw(st.lists(maybe(st.none(), cents), min_size=2, max_size=2)), key=_none_low)
    )
    lev_band = (lev[0], lev[1]) if draw(st.booleans()) else None
    margin_bounds = (bounds[0], bounds[1]) if draw(st.booleans()) else None
    if not caps and margin_bounds is not None:
        margin_bounds = (margin_bounds[0], None)
    max_margin = draw(maybe(st.none(), cents)) if caps else None
    return MarginRule(liq, lev_band, margin_bounds, max_margin)


def _none_low(value: D | None) -> D:
    return D(-1) if value is None else value


# Zero comes from `cents` often enough (hypothesis favours small values) to hit blocked cases.
limits_st = st.builds(
    MarginLimits,
    max_add=cents,
    max_reduce=cents,
    budget_left=maybe(st.none(), cents),
    isolated_margin_headroom=maybe(st.none(), cents),
    min_free_collateral_headroom=maybe(st.none(), cents),
)


def _far(distance: D | None) -> D:
    """None is infinitely far: compare it as a huge distance."""
    return D("1e30") if distance is None else distance


@settings(max_examples=400, deadline=None)
@given(states(), rules(), limits_st)
def test_decisions_respect_every_limit_and_round_safely(
    state: tuple[IsolatedPosition, SymbolRisk], rule: MarginRule, limits: MarginLimits
) -> None:
    position, risk = state
    d = evaluate_margin_rule(position, risk, rule, limits)
    event(f"{d.demanded} -> {d.action_name}{' blocked' if d.blocked else ''}")
    assert d.amount == d.amount.quantize(D("0.01"))
    assert d.amount >= 0
    if d.action is None:
        assert d.amount == 0
        assert d.after == d.before
    if d.blocked:
        assert d.action is None
        assert d.message
        assert d.constrained_by
    if d.action == ADD:
        assert d.after.margin == position.margin + d.amount
        for cap in (
            limits.max_add,
            limits.budget_left,
            limits.isolated_margin_headroom,
            limits.min_free_collateral_headroom,
        ):
            assert cap is None or d.amount <= cap
        for ceiling in (rule.max_margin, rule.margin_bounds and rule.margin_bounds[1]):
            if ceiling is not None:
                assert d.after.margin <= max(ceiling, position.margin)
        # an ADD never lowers the distance from liquidation
        assert _far(d.after.distance_pct) >= _far(d.before.distance_pct)
    if d.action == REDUCE:
        assert d.after.margin == position.margin - d.amount
        assert d.amount <= limits.max_reduce
        assert d.amount <= position.margin
        if rule.liq_distance is not None:
            # never below target_pct (so never across min_pct)
            assert _far(d.after.distance_pct) >= rule.liq_distance[1] - TOL
        if rule.leverage_band is not None and rule.leverage_band[1] is not None:
            assert d.after.leverage is not None
            assert d.after.leverage <= rule.leverage_band[1] * (1 + TOL)
        if rule.margin_bounds is not None and rule.margin_bounds[0] is not None:
            assert d.after.margin >= rule.margin_bounds[0]


@settings(max_examples=300, deadline=None)
@given(states(max_margin_per_mille=100), rules(liq_required=True, caps=False))
def test_an_unconstrained_add_is_the_smallest_whole_cent_that_satisfies_the_rules(
    state: tuple[IsolatedPosition, SymbolRisk], rule: MarginRule
) -> None:
    position, risk = state
    d = evaluate_margin_rule(position, risk, rule, UNLIMITED)
    assume(d.action == ADD)
    assert not d.constrained_by

    def satisfied(margin: D) -> bool:
        after = project_margin(position, risk, margin)
        ok = True
        if "liq_distance" in d.triggered_by and rule.liq_distance is not None:
            ok &= _far(after.distance_pct) >= rule.liq_distance[1] - TOL
        if "leverage_band" in d.triggered_by and rule.leverage_band is not None:
            high = rule.leverage_band[1]
            ok &= high is None or (after.leverage is not None and after.leverage <= high)
        if "margin_bounds" in d.triggered_by and rule.margin_bounds is not None:
            low = rule.margin_bounds[0]
            ok &= low is None or margin >= low
        return ok

    assert satisfied(position.margin + d.amount)
    # a cent less falls short (beyond the 50-digit arithmetic's noise, which may cost a cent)
    assert not satisfied(position.margin + d.amount - D("0.01") - D("1e-9"))


@settings(max_examples=300, deadline=None)
@given(states(exchange_noise=False), rules())
def test_an_unconstrained_decision_leaves_nothing_to_do(
    state: tuple[IsolatedPosition, SymbolRisk], rule: MarginRule
) -> None:
    position, risk = state
    d = evaluate_margin_rule(position, risk, rule, UNLIMITED)
    assume(d.action is not None and not d.constrained_by)
    event(d.action_name)
    moved = IsolatedPosition(
        symbol=position.symbol,
        qty=position.qty,
        cost_position=position.cost_position,
        margin=d.after.margin,
        mark=position.mark,
        est_liq_price=None,
        leverage=position.leverage,
        unsettled_pnl=position.unsettled_pnl,
        funding_adj=position.funding_adj,
    )
    again = evaluate_margin_rule(moved, risk, rule, UNLIMITED)
    assert again.action is None, again.reason


@settings(max_examples=100, deadline=None)
@given(states(), rules(), limits_st)
def test_decisions_do_not_depend_on_the_callers_decimal_context(
    state: tuple[IsolatedPosition, SymbolRisk], rule: MarginRule, limits: MarginLimits
) -> None:
    position, risk = state
    expected = evaluate_margin_rule(position, risk, rule, limits)
    with localcontext(Context(prec=3, rounding=ROUND_DOWN)):
        coarse = evaluate_margin_rule(position, risk, rule, limits)
        assert coarse.shortfall == expected.shortfall
    assert coarse == expected

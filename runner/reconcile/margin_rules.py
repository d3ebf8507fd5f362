"""The margin rules of one isolated position, evaluated into one ADD, REDUCE or nothing.

The planner calls `evaluate_margin_rule` with what the exchange says now (an
`IsolatedPosition`), the symbol's risk parameters, the playbook's rule and the limits that
apply (exchange bounds of POST /v1/position_margin, daily budget, guards) and gets a
`MarginDecision`: the amount, the state before and after, why, what cut it, and whether the
rule was left unable to act, which the plan must show loudly. Before/after figures come from
`margin_position.py` (exchange's liq price now, formula's shift after; see there).

Resolution, safety first:
- An ADD (liq distance below min_pct, leverage above the band, margin below margin_bounds' min)
  wins over any REDUCE and goes to the most demanding target; it is capped by max_margin,
  margin_bounds' max and every limit, and rounded up to the cent (caps rounded down).
- A REDUCE (liq distance beyond max_pct, leverage below the band, margin above margin_bounds'
  max) goes to the lowest target but never below another rule's floor: the margin that keeps
  the liq distance at target_pct (stricter than min_pct, so that ADD and REDUCE cannot
  alternate and burn the daily budget), leverage at the band's max, margin_bounds' min. It is
  capped by max_reduce and rounded down to the cent.
- The leverage band's low end never caps an ADD.

Pure: no I/O, no clock, no randomness, never the global decimal context.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from runner.enums import MarginAdjustment
from runner.playbook.model import MarginRuleSpec
from runner.reconcile.margin import MARGIN_CONTEXT, SymbolRisk, round_down_cents, round_up_cents
from runner.reconcile.margin_position import (
    IsolatedPosition,
    LiqLine,
    MarginProjection,
    liq_line,
    project_margin,
)
from runner.reconcile.margin_text import (
    describe_add_caps,
    describe_demand,
    describe_held_reduce,
    describe_in_line,
    usd,
)

_ZERO = Decimal(0)
_NO_AMOUNT = Decimal("0.00")
# A demand smaller than this is rounding noise of the 50-digit arithmetic, not a need for money.
_NOISE = Decimal("1e-12")

LiqDistance = tuple[Decimal, Decimal, Decimal]
Band = tuple[Decimal | None, Decimal | None]


@dataclass(frozen=True, slots=True)
class MarginRule:
    """The playbook's margin rules for one isolated position; percentages of the mark.

    liq_distance: (min_pct, target_pct, max_pct); leverage_band: (min, max) on the effective
    leverage notional / margin; margin_bounds: (min, max) USDC; either end of a band may be
    None (open). max_margin: USDC that no ADD may take the margin above.
    """

    liq_distance: LiqDistance | None = None
    leverage_band: Band | None = None
    margin_bounds: Band | None = None
    max_margin: Decimal | None = None

    def __post_init__(self) -> None:
        if self.liq_distance is not None:
            low, target, high = self.liq_distance
            if not _ZERO <= low <= target <= high:
                raise ValueError("liq_distance needs 0 <= min_pct <= target_pct <= max_pct")
        _check_band(self.leverage_band, "leverage_band", positive=True)
        _check_band(self.margin_bounds, "margin_bounds", positive=False)
        if self.max_margin is not None and self.max_margin < 0:
            raise ValueError("max_margin must not be negative")


def _check_band(band: Band | None, name: str, *, positive: bool) -> None:
    if band is None:
        return
    low, high = band
    for end in (low, high):
        if end is not None and (end <= 0 if positive else end < 0):
            raise ValueError(f"{name} ends must be {'positive' if positive else 'non-negative'}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{name} needs min <= max")


def margin_rule_from_spec(spec: MarginRuleSpec) -> MarginRule:
    """The evaluator's rule from the playbook model's `MarginRuleSpec`."""
    liq, lev, bounds = spec.liq_distance, spec.leverage_band, spec.margin_bounds
    return MarginRule(
        liq_distance=None if liq is None else (liq.min_pct, liq.target_pct, liq.max_pct),
        leverage_band=None if lev is None else (lev.min, lev.max),
        margin_bounds=None if bounds is None else (bounds.min, bounds.max),
        max_margin=spec.max_margin,
    )


@dataclass(frozen=True, slots=True)
class MarginLimits:
    """What may be moved now, in USDC. None means no such limit.

    max_add / max_reduce: the exchange's bounds (`margin.max_add`, `margin.max_reduce`);
    budget_left: what is left of the playbook's daily ADD budget;
    isolated_margin_headroom: how much more isolated margin the playbook may hold;
    min_free_collateral_headroom: how much free collateral may be spent before it falls below
    the playbook's minimum.
    """

    max_add: Decimal
    max_reduce: Decimal
    budget_left: Decimal | None = None
    isolated_margin_headroom: Decimal | None = None
    min_free_collateral_headroom: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarginDecision:
    """What to do with one isolated position's margin, and why.

    `action` None means NONE. `amount` is USDC, a whole number of cents: rounded up for an ADD,
    down for a REDUCE. `demanded` is what the rules asked for before limits and `desired_amount`
    how much. When they asked but a limit allows nothing at all, `blocked` is True, `action`
    None and `message` says why: a blocked ADD leaves the position closer to liquidation than
    the playbook allows; a blocked REDUCE only leaves margin idle. `message` also explains an
    ADD cut short. `constrained_by` names everything that cut the amount: max_add, budget,
    max_isolated_margin, min_free_collateral, max_margin, margin_bounds (ADD caps); the floors
    liq_distance, leverage_band, margin_bounds and the caps max_reduce, margin (REDUCE).
    """

    symbol: str
    action: MarginAdjustment | None
    amount: Decimal
    before: MarginProjection
    after: MarginProjection
    reason: str
    demanded: MarginAdjustment | None = None
    desired_amount: Decimal = _ZERO
    triggered_by: tuple[str, ...] = ()
    constrained_by: tuple[str, ...] = ()
    blocked: bool = False
    message: str | None = None

    @property
    def action_name(self) -> str:
        return "NONE" if self.action is None else self.action.value

    @property
    def shortfall(self) -> Decimal:
        """How much of what the rules asked for the limits did not allow."""
        with localcontext(MARGIN_CONTEXT):
            return self.desired_amount - self.amount


@dataclass(frozen=True, slots=True)
class _Demand:
    rule: str
    target: Decimal  # the margin the rule wants
    why: str


@dataclass(slots=True)
class _Needs:
    adds: list[_Demand]
    reduces: list[_Demand]
    floors: list[tuple[str, Decimal]]  # a REDUCE never takes the margin below these
    ceilings: list[tuple[str, Decimal]]  # an ADD never takes the margin above these


def _liq_distance_needs(
    needs: _Needs,
    liq: LiqDistance,
    position: IsolatedPosition,
    line: LiqLine,
    before: MarginProjection,
) -> None:
    low, target, high = liq
    at_target = line.margin_for_distance(target)
    # Compared in margin space, where the line is exact; no liq price is beyond any max_pct.
    with localcontext(MARGIN_CONTEXT):
        if line.margin_for_distance(low) - position.margin > _NOISE:
            why = describe_demand("liq_min", position, before, low, target)
            needs.adds.append(_Demand("liq_distance", at_target, why))
        elif position.margin - line.margin_for_distance(high) > _NOISE:
            why = describe_demand("liq_max", position, before, high, target)
            needs.reduces.append(_Demand("liq_distance", at_target, why))
    needs.floors.append(("liq_distance", at_target))


def _leverage_band_needs(
    needs: _Needs, band: Band, position: IsolatedPosition, before: MarginProjection
) -> None:
    low, high = band
    with localcontext(MARGIN_CONTEXT):
        if high is not None:
            at_high = position.notional / high
            if at_high - position.margin > _NOISE:
                why = describe_demand("lev_max", position, before, high, high)
                needs.adds.append(_Demand("leverage_band", at_high, why))
            needs.floors.append(("leverage_band", at_high))
        if low is not None:
            at_low = position.notional / low
            if position.margin - at_low > _NOISE:
                why = describe_demand("lev_min", position, before, low, low)
                needs.reduces.append(_Demand("leverage_band", at_low, why))


def _margin_bounds_needs(
    needs: _Needs, bounds: Band, position: IsolatedPosition, before: MarginProjection
) -> None:
    low, high = bounds
    with localcontext(MARGIN_CONTEXT):
        if low is not None:
            if low - position.margin > _NOISE:
                why = describe_demand("bounds_min", position, before, low, low)
                needs.adds.append(_Demand("margin_bounds", low, why))
            needs.floors.append(("margin_bounds", low))
        if high is not None:
            if position.margin - high > _NOISE:
                why = describe_demand("bounds_max", position, before, high, high)
                needs.reduces.append(_Demand("margin_bounds", high, why))
            needs.ceilings.append(("margin_bounds", high))


def evaluate_margin_rule(
    position: IsolatedPosition, risk: SymbolRisk, rule: MarginRule, limits: MarginLimits
) -> MarginDecision:
    """Decide the one margin adjustment the rules call for, within the limits (see top)."""
    before = project_margin(position, risk, position.margin)
    if position.qty == 0:
        return _unchanged(position, before, "no isolated position: nothing to keep")
    line = liq_line(position, risk)
    needs = _Needs([], [], [], [])
    if rule.liq_distance is not None:
        _liq_distance_needs(needs, rule.liq_distance, position, line, before)
    if rule.leverage_band is not None:
        _leverage_band_needs(needs, rule.leverage_band, position, before)
    if rule.margin_bounds is not None:
        _margin_bounds_needs(needs, rule.margin_bounds, position, before)
    if rule.max_margin is not None:
        needs.ceilings.append(("max_margin", rule.max_margin))
    if needs.adds:
        return _decide_add(position, risk, limits, needs, before)
    if needs.reduces:
        return _decide_reduce(position, risk, limits, needs, before)
    return _unchanged(position, before, describe_in_line(position, rule, before))


def _unchanged(
    position: IsolatedPosition,
    before: MarginProjection,
    reason: str,
    *,
    demanded: MarginAdjustment | None = None,
    desired: Decimal = _ZERO,
    triggered: tuple[str, ...] = (),
    constrained: tuple[str, ...] = (),
    blocked: bool = False,
    message: str | None = None,
) -> MarginDecision:
    return MarginDecision(
        position.symbol,
        None,
        _NO_AMOUNT,
        before,
        before,
        reason,
        demanded=demanded,
        desired_amount=desired,
        triggered_by=triggered,
        constrained_by=constrained,
        blocked=blocked,
        message=message,
    )


def _decide_add(
    position: IsolatedPosition,
    risk: SymbolRisk,
    limits: MarginLimits,
    needs: _Needs,
    before: MarginProjection,
) -> MarginDecision:
    margin = position.margin
    goal = max(needs.adds, key=lambda d: d.target)
    with localcontext(MARGIN_CONTEXT):
        desired = round_up_cents(goal.target - margin)
    caps: list[tuple[str, Decimal | None]] = [
        ("max_add", limits.max_add),
        ("budget", limits.budget_left),
        ("max_isolated_margin", limits.isolated_margin_headroom),
        ("min_free_collateral", limits.min_free_collateral_headroom),
    ]
    with localcontext(MARGIN_CONTEXT):
        caps += [(name, ceiling - margin) for name, ceiling in needs.ceilings]
    cut: list[tuple[str, Decimal]] = []
    amount = desired
    for name, cap in caps:
        if cap is None:
            continue
        allowed = round_down_cents(max(_ZERO, cap))
        if allowed < desired:
            cut.append((name, allowed))
            amount = min(amount, allowed)
    reason = "; ".join(d.why for d in needs.adds)
    if needs.reduces:
        overruled = ", ".join(sorted({d.rule.replace("_", " ") for d in needs.reduces}))
        reason += f"; this overrides the {overruled} rule's wish to take margin back"
    triggered = tuple(dict.fromkeys(d.rule for d in needs.adds))
    constrained = tuple(name for name, _ in cut)
    if amount == 0:
        message = (
            f"{position.symbol}: BLOCKED, needs {usd(desired)} USDC more margin but cannot add "
            f"any: {describe_add_caps(cut)}"
        )
        return _unchanged(
            position,
            before,
            reason,
            demanded=MarginAdjustment.ADD,
            desired=desired,
            triggered=triggered,
            constrained=constrained,
            blocked=True,
            message=message,
        )
    short = None
    if cut:
        short = (
            f"{position.symbol}: adds only {usd(amount)} of the {usd(desired)} USDC needed: "
            f"{describe_add_caps(cut)}"
        )
    with localcontext(MARGIN_CONTEXT):
        after = project_margin(position, risk, margin + amount)
    return MarginDecision(
        position.symbol,
        MarginAdjustment.ADD,
        amount,
        before,
        after,
        reason,
        demanded=MarginAdjustment.ADD,
        desired_amount=desired,
        triggered_by=triggered,
        constrained_by=constrained,
        message=short,
    )


def _decide_reduce(
    position: IsolatedPosition,
    risk: SymbolRisk,
    limits: MarginLimits,
    needs: _Needs,
    before: MarginProjection,
) -> MarginDecision:
    margin = position.margin
    goal = min(needs.reduces, key=lambda d: d.target)
    reason = "; ".join(d.why for d in needs.reduces)
    triggered = tuple(dict.fromkeys(d.rule for d in needs.reduces))
    with localcontext(MARGIN_CONTEXT):
        desired = round_down_cents(max(_ZERO, margin - goal.target))
    if desired == 0:
        return _unchanged(
            position, before, reason + "; less than a cent to take back", triggered=triggered
        )
    amount = desired
    cut: list[str] = []
    # Floors of the other rules: a REDUCE never undoes what they require.
    held = [(name, floor) for name, floor in needs.floors if floor > goal.target]
    if held:
        highest = max(floor for _, floor in held)
        with localcontext(MARGIN_CONTEXT):
            room = round_down_cents(max(_ZERO, margin - highest))
            cut += [name for name, floor in held if margin - floor < desired]
        if room < desired:
            amount = room
            reason += "; " + describe_held_reduce(held, highest, margin)
    if amount == 0:
        # Resolved in favour of safety: nothing is stuck, so this is not blocked.
        return _unchanged(
            position,
            before,
            reason,
            demanded=MarginAdjustment.REDUCE,
            desired=desired,
            triggered=triggered,
            constrained=tuple(cut),
        )
    for name, cap in (("max_reduce", limits.max_reduce), ("margin", margin)):
        allowed = round_down_cents(max(_ZERO, cap))
        if allowed < amount:
            cut.append(name)
            amount = allowed
    if amount == 0:
        message = (
            f"{position.symbol}: BLOCKED, wants {usd(desired)} USDC of margin back but the "
            f"exchange allows none now (max_reduce {usd(limits.max_reduce)} USDC: the position "
            "is at its initial margin or in loss)"
        )
        return _unchanged(
            position,
            before,
            reason,
            demanded=MarginAdjustment.REDUCE,
            desired=desired,
            triggered=triggered,
            constrained=tuple(cut),
            blocked=True,
            message=message,
        )
    with localcontext(MARGIN_CONTEXT):
        after = project_margin(position, risk, margin - amount)
    return MarginDecision(
        position.symbol,
        MarginAdjustment.REDUCE,
        amount,
        before,
        after,
        reason,
        demanded=MarginAdjustment.REDUCE,
        desired_amount=desired,
        triggered_by=triggered,
        constrained_by=tuple(cut),
    )

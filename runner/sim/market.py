"""Mark prices: a seeded random walk on the simulator's clock, with freeze and admin overrides.

The walk moves in one-second steps; each step's move is derived from a hash of (seed, symbol,
step number), so a given seed and clock always give the same marks. The walk runs on a float
log-price (a random generator's detail); every mark it publishes is a Decimal on the symbol's
tick. This module must never fill orders or liquidate: it only says what the marks are.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from runner.sim.symbols import SymbolSpec

STEP_MS = 1000
_SECONDS_PER_YEAR = 365 * 24 * 3600
# Beyond this many steps a gap is crossed in one draw instead of step by step.
_MAX_SINGLE_STEPS = 3600


@dataclass(slots=True)
class Market:
    """Current marks and the walk's position; persisted as one record."""

    seed: int
    frozen: bool
    last_step: int
    log_prices: dict[str, float] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "frozen": self.frozen,
            "last_step": self.last_step,
            "log_prices": self.log_prices,
            "marks": {k: str(v) for k, v in self.marks.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Market:
        return cls(
            seed=int(raw["seed"]),
            frozen=bool(raw["frozen"]),
            last_step=int(raw["last_step"]),
            log_prices={k: float(v) for k, v in raw["log_prices"].items()},
            marks={k: Decimal(v) for k, v in raw["marks"].items()},
        )


def new_market(seed: int, now_ms: int, specs: dict[str, SymbolSpec]) -> Market:
    market = Market(seed=seed, frozen=False, last_step=now_ms // STEP_MS)
    for spec in specs.values():
        add_symbol(market, spec)
    return market


def add_symbol(market: Market, spec: SymbolSpec) -> None:
    if spec.symbol not in market.marks:
        set_mark(market, spec, spec.start_mark)


def set_mark(market: Market, spec: SymbolSpec, price: Decimal) -> None:
    market.marks[spec.symbol] = price
    market.log_prices[spec.symbol] = math.log(float(price))


def _uniform(seed: int, symbol: str, step: int, salt: str = "") -> float:
    """A deterministic number in [-1, 1) from (seed, symbol, step)."""
    digest = hashlib.blake2b(f"{seed}|{symbol}|{step}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def _on_tick(value: float, spec: SymbolSpec) -> Decimal:
    price = Decimal(repr(value)).quantize(spec.quote_tick, rounding=ROUND_HALF_EVEN)
    return max(price, spec.quote_tick)


def advance(market: Market, now_ms: int, specs: dict[str, SymbolSpec]) -> list[str]:
    """Walk every symbol up to now; returns the symbols whose mark changed."""
    target = now_ms // STEP_MS
    if target <= market.last_step:
        return []
    if market.frozen:
        market.last_step = target
        return []
    first = market.last_step
    market.last_step = target
    changed: list[str] = []
    for symbol, spec in specs.items():
        # uniform in [-√3, √3) has unit variance
        sigma = float(spec.annual_volatility) / math.sqrt(_SECONDS_PER_YEAR) * math.sqrt(3.0)
        log_price = market.log_prices[symbol]
        start = first
        if target - start > _MAX_SINGLE_STEPS:
            jump_steps = target - start - _MAX_SINGLE_STEPS
            log_price += (
                sigma
                * math.sqrt(jump_steps)
                * _uniform(market.seed, symbol, start, f"jump{target}")
            )
            start += jump_steps
        for step in range(start + 1, target + 1):
            log_price += sigma * _uniform(market.seed, symbol, step)
        low = math.log(float(spec.quote_tick))
        high = math.log(float(spec.quote_max)) - 0.1
        log_price = min(max(log_price, low), high)
        market.log_prices[symbol] = log_price
        mark = _on_tick(math.exp(log_price), spec)
        if mark != market.marks[symbol]:
            market.marks[symbol] = mark
            changed.append(symbol)
    return changed

"""Perpetual markets the simulator serves: order rules and risk parameters per symbol.

The shipped list (runner/data/sim_symbols.json) models about ten major Orderly perps;
benchmarks can add synthetic ones (PERP_SYN001_USDC, ...). This module only describes markets:
it must never hold state that changes while the exchange runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

_DATA_PACKAGE = "runner"
_DATA_FILE = "data/sim_symbols.json"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One market's rules, with the names of GET /v1/public/info/{symbol}."""

    symbol: str
    start_mark: Decimal
    quote_min: Decimal
    quote_max: Decimal
    quote_tick: Decimal
    base_min: Decimal
    base_max: Decimal
    base_tick: Decimal
    min_notional: Decimal
    price_range: Decimal
    price_scope: Decimal
    std_liquidation_fee: Decimal
    liquidator_fee: Decimal
    claim_insurance_fund_discount: Decimal
    funding_period: int
    cap_funding: Decimal
    floor_funding: Decimal
    cap_ir: Decimal
    floor_ir: Decimal
    interest_rate: Decimal
    imr_factor: Decimal
    base_imr: Decimal
    base_mmr: Decimal
    liquidation_tier: int
    global_max_oi_cap: Decimal
    max_notional: Decimal
    created_time: int
    annual_volatility: Decimal

    @property
    def max_leverage(self) -> int:
        """Per-symbol leverage cap: 1 / base_imr (orderly-api.md §4.1)."""
        return int(Decimal(1) / self.base_imr)

    def public_info(self) -> dict[str, Any]:
        """The row of GET /v1/public/info."""
        return {
            "symbol": self.symbol,
            "quote_min": self.quote_min,
            "quote_max": self.quote_max,
            "quote_tick": self.quote_tick,
            "base_min": self.base_min,
            "base_max": self.base_max,
            "base_tick": self.base_tick,
            "min_notional": self.min_notional,
            "price_range": self.price_range,
            "price_scope": self.price_scope,
            "std_liquidation_fee": self.std_liquidation_fee,
            "liquidator_fee": self.liquidator_fee,
            "claim_insurance_fund_discount": self.claim_insurance_fund_discount,
            "funding_period": self.funding_period,
            "cap_funding": self.cap_funding,
            "floor_funding": self.floor_funding,
            "cap_ir": self.cap_ir,
            "floor_ir": self.floor_ir,
            "interest_rate": self.interest_rate,
            "imr_factor": self.imr_factor,
            "created_time": self.created_time,
            "updated_time": self.created_time,
            "base_mmr": self.base_mmr,
            "base_imr": self.base_imr,
            "liquidation_tier": self.liquidation_tier,
            "global_max_oi_cap": self.global_max_oi_cap,
        }


_INT_FIELDS = frozenset({"funding_period", "liquidation_tier", "created_time"})


def _spec_from_json(raw: dict[str, Any]) -> SymbolSpec:
    values: dict[str, Any] = {}
    for name in SymbolSpec.__dataclass_fields__:
        item = raw[name]
        if name == "symbol":
            values[name] = str(item)
        elif name in _INT_FIELDS:
            values[name] = int(item)
        else:
            values[name] = Decimal(str(item))
    return SymbolSpec(**values)


def load_symbols() -> dict[str, SymbolSpec]:
    """The shipped markets, in file order."""
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    document = json.loads(text)
    specs = [_spec_from_json(raw) for raw in document["symbols"]]
    return {spec.symbol: spec for spec in specs}


def synthetic_symbol(index: int) -> SymbolSpec:
    """A made-up alt market (for load tests that need many symbols); deterministic per index."""
    start = Decimal(10 + (index * 37) % 490)
    return SymbolSpec(
        symbol=f"PERP_SYN{index:03d}_USDC",
        start_mark=start,
        quote_min=Decimal(0),
        quote_max=start * 20,
        quote_tick=Decimal("0.001"),
        base_min=Decimal("0.01"),
        base_max=Decimal(100000),
        base_tick=Decimal("0.01"),
        min_notional=Decimal(10),
        price_range=Decimal("0.03"),
        price_scope=Decimal("0.4"),
        std_liquidation_fee=Decimal("0.012"),
        liquidator_fee=Decimal("0.006"),
        claim_insurance_fund_discount=Decimal("0.0075"),
        funding_period=8,
        cap_funding=Decimal("0.000375"),
        floor_funding=Decimal("-0.000375"),
        cap_ir=Decimal("0.0003"),
        floor_ir=Decimal("-0.0003"),
        interest_rate=Decimal("0.0001"),
        imr_factor=Decimal("0.0000044"),
        base_imr=Decimal("0.05"),
        base_mmr=Decimal("0.025"),
        liquidation_tier=2,
        global_max_oi_cap=Decimal(20000000),
        max_notional=Decimal(2000000),
        created_time=1684140107326,
        annual_volatility=Decimal("0.9"),
    )

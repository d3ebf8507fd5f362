"""The typed, frozen playbook model: what the user wants, after validation.

Everything here is built only by `runner.playbook.build` from a document that already passed the
schema and the semantic checks, so the rest of the program can trust these values. Money is
Decimal; nothing here does I/O or knows about the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from runner.enums import MarginMode, OrderType, Side

NETWORKS = ("sim", "testnet", "mainnet")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a node sits in its playbook file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One entry order that should rest on the book (or be placed once, for MARKET/IOC/FOK)."""

    key: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    reduce_only: bool = False
    repeat: bool = False
    visible_quantity: Decimal | None = None
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LiqDistance:
    """Keep the liquidation price between min_pct and max_pct away from the mark (percent)."""

    min_pct: Decimal
    target_pct: Decimal
    max_pct: Decimal


@dataclass(frozen=True, slots=True)
class Band:
    """An inclusive range; either end may be open."""

    min: Decimal | None = None
    max: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarginRuleSpec:
    """Rules for the margin of one isolated position."""

    liq_distance: LiqDistance | None = None
    leverage_band: Band | None = None
    margin_bounds: Band | None = None
    max_margin: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """The desired state of one (symbol, margin mode) slot of the account."""

    symbol: str
    margin_mode: MarginMode
    leverage: int
    orders: tuple[OrderSpec, ...] = ()
    margin: MarginRuleSpec | None = None
    location: Location | None = field(default=None, compare=False)

    @property
    def slot(self) -> tuple[str, MarginMode]:
        return (self.symbol, self.margin_mode)


@dataclass(frozen=True, slots=True)
class Guards:
    """Hard limits checked on the state a plan would produce, before any write."""

    max_leverage: int | None = None
    max_order_notional: Decimal | None = None
    max_position_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_isolated_margin: Decimal | None = None
    max_margin_added_per_day: Decimal | None = None
    min_free_collateral: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """When `runner schedule` reconciles: a 5-field cron string or a fixed interval."""

    cron: str | None = None
    every_seconds: int | None = None

    def __str__(self) -> str:
        return self.cron if self.cron is not None else f"every {self.every_seconds}s"


@dataclass(frozen=True, slots=True)
class Playbook:
    """A validated playbook: the desired state of (part of) one Orderly account."""

    name: str
    symbols: tuple[SymbolSpec, ...]
    version: int = 1
    network: str = "sim"
    account: str = "main"
    schedule: Schedule | None = None
    guards: Guards = field(default_factory=Guards)
    halt: bool = False
    source: str = "<memory>"

    def slot(self, symbol: str, margin_mode: MarginMode) -> SymbolSpec | None:
        for spec in self.symbols:
            if spec.symbol == symbol and spec.margin_mode == margin_mode:
                return spec
        return None

    @property
    def symbol_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(spec.symbol for spec in self.symbols))

"""What the Orderly API returns about markets, settings, positions and balances, typed.

Every number that is money, a price, a quantity or a ratio is a Decimal (integers on the wire
included); leverage is an int. Each type parses itself from one response object through
`wire.Fields`: unknown extra fields are ignored, a missing required one is a `ProtocolError`
naming the field and the endpoint. Order types live in `runner.orderly.orders` and are
re-exported here. This module does no I/O and never changes the global decimal context.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runner.enums import MarginMode
from runner.orderly.orders import BatchOrderRow, Order, OrderAck, OrderRequest
from runner.orderly.wire import Fields

__all__ = [
    "AccountInfo",
    "AggregateHolding",
    "BatchOrderRow",
    "ClientInfo",
    "FutureInfo",
    "Holding",
    "LeverageSetting",
    "MarginModeSetting",
    "Order",
    "OrderAck",
    "OrderRequest",
    "Position",
    "PositionsSummary",
    "SymbolInfo",
]

_ZERO = Decimal(0)


def _to_tick(value: Decimal, origin: Decimal, tick: Decimal, rounding: str) -> Decimal:
    # The grid starts at the minimum, not at zero: §4.3 checks (price - quote_min) % quote_tick.
    steps = ((value - origin) / tick).to_integral_value(rounding=rounding)
    return origin + steps * tick


def _on_tick(value: Decimal, origin: Decimal, tick: Decimal) -> bool:
    return (value - origin) % tick == 0


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """Order rules and risk parameters of one symbol (GET /v1/public/info, §4.3, §4.6)."""

    symbol: str
    quote_min: Decimal
    quote_max: Decimal
    quote_tick: Decimal
    base_min: Decimal
    base_max: Decimal
    base_tick: Decimal
    min_notional: Decimal
    price_range: Decimal
    price_scope: Decimal
    base_imr: Decimal
    base_mmr: Decimal
    imr_factor: Decimal | None
    std_liquidation_fee: Decimal | None
    liquidator_fee: Decimal | None
    funding_period: Decimal | None
    cap_funding: Decimal | None
    floor_funding: Decimal | None
    created_time: int | None
    updated_time: int | None

    @classmethod
    def from_json(cls, f: Fields) -> SymbolInfo:
        return cls(
            symbol=f.text("symbol"),
            quote_min=f.dec("quote_min"),
            quote_max=f.dec("quote_max"),
            quote_tick=f.dec("quote_tick"),
            base_min=f.dec("base_min"),
            base_max=f.dec("base_max"),
            base_tick=f.dec("base_tick"),
            min_notional=f.dec("min_notional"),
            price_range=f.dec("price_range"),
            price_scope=f.dec("price_scope"),
            base_imr=f.dec("base_imr"),
            base_mmr=f.dec("base_mmr"),
            imr_factor=f.opt_dec("imr_factor"),
            std_liquidation_fee=f.opt_dec("std_liquidation_fee"),
            liquidator_fee=f.opt_dec("liquidator_fee"),
            funding_period=f.opt_dec("funding_period"),
            cap_funding=f.opt_dec("cap_funding"),
            floor_funding=f.opt_dec("floor_funding"),
            created_time=f.opt_integer("created_time"),
            updated_time=f.opt_integer("updated_time"),
        )

    def round_price(self, price: Decimal, rounding: str) -> Decimal:
        """`price` on the price grid `quote_min + k * quote_tick`, rounded with `rounding`
        (one of decimal's ROUND_* modes; there is no default on purpose)."""
        return _to_tick(price, self.quote_min, self.quote_tick, rounding)

    def round_quantity(self, quantity: Decimal, rounding: str) -> Decimal:
        """`quantity` on the size grid `base_min + k * base_tick`, rounded with `rounding`."""
        return _to_tick(quantity, self.base_min, self.base_tick, rounding)

    def price_on_tick(self, price: Decimal) -> bool:
        return _on_tick(price, self.quote_min, self.quote_tick)

    def quantity_on_tick(self, quantity: Decimal) -> bool:
        return _on_tick(quantity, self.base_min, self.base_tick)

    @property
    def max_leverage(self) -> int:
        """The symbol's ceiling before size tiers: floor(1 / base_imr) (§4.1)."""
        return int((1 / self.base_imr).to_integral_value(rounding="ROUND_FLOOR"))


@dataclass(frozen=True, slots=True)
class FutureInfo:
    """Mark, index and funding state of one perpetual (GET /v1/public/futures)."""

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    sum_unitary_funding: Decimal
    est_funding_rate: Decimal | None
    last_funding_rate: Decimal | None
    next_funding_time: int | None
    open_interest: Decimal | None

    @classmethod
    def from_json(cls, f: Fields) -> FutureInfo:
        return cls(
            symbol=f.text("symbol"),
            mark_price=f.dec("mark_price"),
            index_price=f.dec("index_price"),
            sum_unitary_funding=f.dec("sum_unitary_funding"),
            est_funding_rate=f.opt_dec("est_funding_rate"),
            last_funding_rate=f.opt_dec("last_funding_rate"),
            next_funding_time=f.opt_integer("next_funding_time"),
            open_interest=f.opt_dec("open_interest"),
        )


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    """The leverage of one (symbol, margin mode) (GET/POST /v1/client/leverage(s), §4.1)."""

    symbol: str
    margin_mode: MarginMode
    leverage: int

    @classmethod
    def from_json(cls, f: Fields) -> LeverageSetting:
        return cls(
            symbol=f.text("symbol"),
            margin_mode=f.enum("margin_mode", MarginMode),
            leverage=f.integer("leverage"),
        )


@dataclass(frozen=True, slots=True)
class MarginModeSetting:
    """A symbol's default margin mode (GET /v1/client/margin_modes)."""

    symbol: str
    default_margin_mode: MarginMode

    @classmethod
    def from_json(cls, f: Fields) -> MarginModeSetting:
        return cls(
            symbol=f.text("symbol"),
            default_margin_mode=f.enum("default_margin_mode", MarginMode),
        )


@dataclass(frozen=True, slots=True)
class Position:
    """One position row, keyed by (symbol, margin_mode) (§4.4).

    `position_qty` is signed (+long, -short); `margin` is the isolated margin (0 for CROSS).
    """

    symbol: str
    margin_mode: MarginMode
    position_qty: Decimal
    cost_position: Decimal
    average_open_price: Decimal
    unsettled_pnl: Decimal
    mark_price: Decimal
    est_liq_price: Decimal
    imr: Decimal | None
    mmr: Decimal | None
    leverage: int
    margin: Decimal
    pending_long_qty: Decimal
    pending_short_qty: Decimal
    settle_price: Decimal | None
    last_sum_unitary_funding: Decimal | None
    timestamp: int | None

    @classmethod
    def from_json(cls, f: Fields) -> Position:
        return cls(
            symbol=f.text("symbol"),
            margin_mode=f.enum("margin_mode", MarginMode),
            position_qty=f.dec("position_qty"),
            cost_position=f.dec("cost_position"),
            average_open_price=f.dec("average_open_price"),
            unsettled_pnl=f.dec("unsettled_pnl"),
            mark_price=f.dec("mark_price"),
            est_liq_price=f.dec("est_liq_price"),
            imr=f.opt_dec("imr"),
            mmr=f.opt_dec("mmr"),
            leverage=f.integer("leverage"),
            margin=f.dec("margin"),
            pending_long_qty=f.dec_or("pending_long_qty", _ZERO),
            pending_short_qty=f.dec_or("pending_short_qty", _ZERO),
            settle_price=f.opt_dec("settle_price"),
            last_sum_unitary_funding=f.opt_dec("last_sum_unitary_funding"),
            timestamp=f.opt_integer("timestamp"),
        )


def _risk_summary(f: Fields) -> dict[str, Decimal]:
    return {
        name: f.dec(name)
        for name in (
            "free_collateral",
            "total_collateral_value",
            "margin_ratio",
            "initial_margin_ratio",
            "maintenance_margin_ratio",
            "open_margin_ratio",
            "current_margin_ratio_with_orders",
            "initial_margin_ratio_with_orders",
            "maintenance_margin_ratio_with_orders",
        )
    }


@dataclass(frozen=True, slots=True)
class PositionsSummary:
    """The account's risk summary and every position row (GET /v1/positions)."""

    free_collateral: Decimal
    total_collateral_value: Decimal
    margin_ratio: Decimal
    initial_margin_ratio: Decimal
    maintenance_margin_ratio: Decimal
    open_margin_ratio: Decimal
    current_margin_ratio_with_orders: Decimal
    initial_margin_ratio_with_orders: Decimal
    maintenance_margin_ratio_with_orders: Decimal
    account_value: Decimal | None
    total_pnl_24_h: Decimal | None
    rows: tuple[Position, ...]

    @classmethod
    def from_json(cls, f: Fields) -> PositionsSummary:
        return cls(
            **_risk_summary(f),
            account_value=f.opt_dec("account_value"),
            total_pnl_24_h=f.opt_dec("total_pnl_24_h"),
            rows=tuple(Position.from_json(row) for row in f.rows()),
        )

    def position(self, symbol: str, margin_mode: MarginMode) -> Position | None:
        """The row of (symbol, margin_mode), or None when there is none."""
        for row in self.rows:
            if row.symbol == symbol and row.margin_mode == margin_mode:
                return row
        return None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """The account risk summary alone (GET /v1/account_info)."""

    free_collateral: Decimal
    total_collateral_value: Decimal
    margin_ratio: Decimal
    initial_margin_ratio: Decimal
    maintenance_margin_ratio: Decimal
    open_margin_ratio: Decimal
    current_margin_ratio_with_orders: Decimal
    initial_margin_ratio_with_orders: Decimal
    maintenance_margin_ratio_with_orders: Decimal
    account_value: Decimal | None
    total_pnl_24h: Decimal | None

    @classmethod
    def from_json(cls, f: Fields) -> AccountInfo:
        return cls(
            **_risk_summary(f),
            account_value=f.opt_dec("account_value"),
            total_pnl_24h=f.opt_dec("total_pnl_24h"),
        )


@dataclass(frozen=True, slots=True)
class Holding:
    """One token balance (GET /v1/client/holding). `pending_short` is negative (§4.5)."""

    token: str
    holding: Decimal
    frozen: Decimal
    pending_short: Decimal
    isolated_margin: Decimal
    isolated_order_frozen: Decimal
    updated_time: int | None

    @classmethod
    def from_json(cls, f: Fields) -> Holding:
        return cls(
            token=f.text("token"),
            holding=f.dec("holding"),
            frozen=f.dec("frozen"),
            pending_short=f.dec_or("pending_short", _ZERO),
            isolated_margin=f.dec_or("isolated_margin", _ZERO),
            isolated_order_frozen=f.dec_or("isolated_order_frozen", _ZERO),
            updated_time=f.opt_integer("updated_time"),
        )


@dataclass(frozen=True, slots=True)
class AggregateHolding:
    """One (account, token) balance of a main account or its sub-accounts: a holding row
    plus the account it belongs to."""

    account_id: str
    balance: Holding

    @classmethod
    def from_json(cls, f: Fields) -> AggregateHolding:
        return cls(account_id=f.text("account_id"), balance=Holding.from_json(f))


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Account configuration (GET /v1/client/info). Fee rates are in basis points (§4.5)."""

    account_id: str
    account_mode: str | None
    max_leverage: int
    taker_fee_rate: Decimal
    maker_fee_rate: Decimal
    futures_taker_fee_rate: Decimal | None
    futures_maker_fee_rate: Decimal | None
    maintenance_cancel_orders: bool | None
    imr_factor: dict[str, Decimal]
    max_notional: dict[str, Decimal]

    @classmethod
    def from_json(cls, f: Fields) -> ClientInfo:
        return cls(
            account_id=f.text("account_id"),
            account_mode=f.opt_text("account_mode"),
            max_leverage=f.integer("max_leverage"),
            taker_fee_rate=f.dec("taker_fee_rate"),
            maker_fee_rate=f.dec("maker_fee_rate"),
            futures_taker_fee_rate=f.opt_dec("futures_taker_fee_rate"),
            futures_maker_fee_rate=f.opt_dec("futures_maker_fee_rate"),
            maintenance_cancel_orders=(
                f.flag("maintenance_cancel_orders") if f.has("maintenance_cancel_orders") else None
            ),
            imr_factor=f.dec_map("imr_factor") if f.has("imr_factor") else {},
            max_notional=f.dec_map("max_notional") if f.has("max_notional") else {},
        )

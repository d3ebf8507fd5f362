"""The simulator's mutable records: accounts, keys, orders, positions, trades.

These are the rows the engine changes in place and the store persists; they are plain
(non-frozen) dataclasses on purpose. They hold data only: the rules live in the engine modules,
and nothing here may touch the clock, the market or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)

CROSS = "CROSS"
ISOLATED = "ISOLATED"
MARGIN_MODES = (CROSS, ISOLATED)
BUY = "BUY"
SELL = "SELL"
OPEN_STATUSES = frozenset({"NEW", "PARTIAL_FILLED"})


@dataclass(slots=True)
class Account:
    account_id: str
    user_id: int
    holding: Decimal
    max_leverage: int
    created_time: int
    updated_time: int
    # "SYMBOL|MODE" -> leverage; symbols never configured use the default leverage
    leverages: dict[str, int] = field(default_factory=dict)
    # symbol -> default margin mode; absent means CROSS
    default_modes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ApiKey:
    orderly_key: str
    account_id: str
    public_key_hex: str
    scope: str
    expiration: int


@dataclass(slots=True)
class Order:
    order_id: int
    account_id: str
    symbol: str
    side: str
    type: str
    margin_mode: str
    price: Decimal | None
    quantity: Decimal
    amount: Decimal | None
    visible_quantity: Decimal
    reduce_only: bool
    client_order_id: str
    order_tag: str
    status: str
    executed_quantity: Decimal
    average_executed_price: Decimal | None
    total_fee: Decimal
    realized_pnl: Decimal
    frozen: Decimal
    created_time: int
    updated_time: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed_quantity


@dataclass(slots=True)
class Position:
    account_id: str
    symbol: str
    margin_mode: str
    qty: Decimal
    cost_position: Decimal
    average_open_price: Decimal
    margin: Decimal
    fee_24h: Decimal
    pnl_24h: Decimal
    seq: int
    updated_time: int


@dataclass(slots=True)
class Trade:
    id: int
    account_id: str
    symbol: str
    side: str
    order_id: int
    executed_price: Decimal
    executed_quantity: Decimal
    fee: Decimal
    is_maker: bool
    realized_pnl: Decimal
    executed_timestamp: int
    margin_mode: str


def position_key(account_id: str, symbol: str, margin_mode: str) -> str:
    return f"{account_id}|{symbol}|{margin_mode}"


def leverage_key(symbol: str, margin_mode: str) -> str:
    return f"{symbol}|{margin_mode}"

"""Orders on the wire: what we ask for (`OrderRequest`) and what Orderly says back.

`OrderRequest` checks what can be checked without the exchange (a price where the type needs
one, positive sizes, client_order_id length and characters, §4.2) so that a request that can
only be refused is never sent. Its `to_body()` fixes the field order of the bytes we sign.
Order rows use Orderly's response names (`price`, `quantity`, `type`), not the request names.
This module does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from runner.enums import MarginMode, OrderStatus, OrderType, Side
from runner.orderly.errors import UsageError
from runner.orderly.wire import Fields

MAX_CLIENT_ORDER_ID = 36
# Orderly documents "<= 36 characters, hyphens allowed but not first" (§4.2). Commas, spaces
# and '&' are refused as well because ids travel comma-joined in batch-cancel query strings.
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,35}")

_PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.IOC, OrderType.FOK, OrderType.POST_ONLY})
_AMOUNT_TYPES = frozenset({OrderType.MARKET, OrderType.ASK, OrderType.BID})


def check_client_order_id(client_order_id: str) -> None:
    """Raise UsageError unless `client_order_id` is one Orderly accepts."""
    if not _CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise UsageError(
            f"client_order_id {client_order_id[:60]!r} is invalid: 1 to {MAX_CLIENT_ORDER_ID} "
            "letters, digits, '_' or '-', not starting with '-'"
        )


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order (body of POST /v1/order, or one row of POST /v1/batch-order)."""

    symbol: str
    order_type: OrderType
    side: Side
    order_quantity: Decimal | None
    order_price: Decimal | None = None
    client_order_id: str | None = None
    margin_mode: MarginMode | None = None
    reduce_only: bool = False
    visible_quantity: Decimal | None = None
    order_amount: Decimal | None = None
    order_tag: str | None = None

    def __post_init__(self) -> None:
        where = f"order on {self.symbol}"
        if self.order_type in _PRICED_TYPES and self.order_price is None:
            raise UsageError(f"{where}: a {self.order_type} order needs order_price")
        if self.order_price is not None and self.order_price <= 0:
            raise UsageError(f"{where}: order_price must be positive")
        if self.order_quantity is None and self.order_amount is None:
            raise UsageError(f"{where}: give order_quantity (or order_amount for MARKET)")
        if self.order_quantity is not None and self.order_quantity <= 0:
            raise UsageError(f"{where}: order_quantity must be positive")
        if self.order_amount is not None:
            if self.order_type not in _AMOUNT_TYPES:
                raise UsageError(f"{where}: order_amount is only for MARKET, ASK and BID orders")
            if self.order_amount <= 0:
                raise UsageError(f"{where}: order_amount must be positive")
        if self.visible_quantity is not None:
            if self.order_type == OrderType.POST_ONLY:
                raise UsageError(f"{where}: visible_quantity is not allowed on POST_ONLY")
            if self.visible_quantity < 0 or (
                self.order_quantity is not None and self.visible_quantity > self.order_quantity
            ):
                raise UsageError(f"{where}: visible_quantity must be between 0 and the quantity")
        if self.client_order_id is not None:
            check_client_order_id(self.client_order_id)

    def to_body(self) -> dict[str, object]:
        """The JSON body, keys in a fixed order, None left out, reduce_only only when set."""
        body: dict[str, object] = {
            "symbol": self.symbol,
            "order_type": self.order_type,
            "side": self.side,
        }
        optional: tuple[tuple[str, object], ...] = (
            ("order_price", self.order_price),
            ("order_quantity", self.order_quantity),
            ("order_amount", self.order_amount),
            ("visible_quantity", self.visible_quantity),
            ("margin_mode", self.margin_mode),
            ("reduce_only", True if self.reduce_only else None),
            ("client_order_id", self.client_order_id),
            ("order_tag", self.order_tag),
        )
        body.update((key, value) for key, value in optional if value is not None)
        return body


def _client_order_id(f: Fields) -> str | None:
    # The spec types it as a number while clients send strings; "" and null mean "not set".
    value = f.opt_text("client_order_id")
    return value or None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """Orderly's acknowledgement of a new order; fills are read later from the order rows."""

    order_id: int
    client_order_id: str | None
    order_type: OrderType | None
    order_price: Decimal | None
    order_quantity: Decimal | None
    order_amount: Decimal | None

    @classmethod
    def from_json(cls, f: Fields) -> OrderAck:
        return cls(
            order_id=f.integer("order_id"),
            client_order_id=_client_order_id(f),
            order_type=f.opt_enum("order_type", OrderType),
            order_price=f.opt_dec("order_price"),
            order_quantity=f.opt_dec("order_quantity"),
            order_amount=f.opt_dec("order_amount"),
        )

    @classmethod
    def from_order(cls, order: Order) -> OrderAck:
        """The acknowledgement an order row stands for (used after an unknown outcome)."""
        return cls(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            order_type=order.type,
            order_price=order.price,
            order_quantity=order.quantity,
            order_amount=order.amount,
        )


@dataclass(frozen=True, slots=True)
class BatchOrderRow:
    """The outcome of one order of a batch: `ack` when placed, `error` (and maybe Orderly's
    `error_code`) when refused."""

    request: OrderRequest
    ack: OrderAck | None
    error: str | None
    error_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.ack is not None and self.error is None


@dataclass(frozen=True, slots=True)
class Order:
    """One order row (GET /v1/orders, /v1/order/{id}, /v1/client/order/{coid}, §4.2)."""

    order_id: int
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    price: Decimal | None
    quantity: Decimal
    amount: Decimal | None
    total_executed_quantity: Decimal
    status: OrderStatus
    margin_mode: MarginMode | None
    reduce_only: bool
    average_executed_price: Decimal | None
    visible_quantity: Decimal | None
    created_time: int
    updated_time: int | None
    total_fee: Decimal
    realized_pnl: Decimal
    order_tag: str | None

    @classmethod
    def from_json(cls, f: Fields) -> Order:
        price = f.opt_dec("price")
        return cls(
            order_id=f.integer("order_id"),
            client_order_id=_client_order_id(f),
            symbol=f.text("symbol"),
            side=f.enum("side", Side),
            type=f.enum("type", OrderType),
            # A MARKET row may carry price 0 or null (§4.2): both mean "no limit price".
            price=price if price else None,
            quantity=f.dec("quantity"),
            amount=f.opt_dec("amount"),
            total_executed_quantity=f.dec("total_executed_quantity"),
            status=f.enum("status", OrderStatus),
            margin_mode=f.opt_enum("margin_mode", MarginMode),
            reduce_only=f.flag("reduce_only", default=False),
            average_executed_price=f.opt_dec("average_executed_price"),
            visible_quantity=f.opt_dec("visible_quantity"),
            created_time=f.integer("created_time"),
            updated_time=f.opt_integer("updated_time"),
            total_fee=f.dec_or("total_fee", Decimal(0)),
            realized_pnl=f.dec_or("realized_pnl", Decimal(0)),
            order_tag=f.opt_text("order_tag"),
        )

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.total_executed_quantity

"""The exchange engine: in-memory state, its persistence, the clock and market ticking.

Every request runs as one engine operation under a lock: the market is first walked up to
"now" (resting orders that the marks crossed fill, then liquidations run), then the operation
itself. Write operations are one SQLite transaction; a SimError raised by an operation must be
raised before it mutates anything. The trading rules live in orders.py, fills.py,
accounts.py and liquidation.py; this module must never decide a trading rule itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from runner.sim import market as market_mod
from runner.sim.errors import INVALID_PARAM, SimError
from runner.sim.market import Market
from runner.sim.model import (
    CROSS,
    ZERO,
    Account,
    ApiKey,
    Order,
    Position,
    Trade,
    leverage_key,
    position_key,
)
from runner.sim.store import Store, record_from_json, record_to_json
from runner.sim.symbols import SymbolSpec, load_symbols, synthetic_symbol

T = TypeVar("T")

DEFAULT_LEVERAGE = 10
TAKER_FEE_RATE = Decimal("0.0005")
MAKER_FEE_RATE = Decimal("0.0002")
TAKER_FEE_BPS = 5
MAKER_FEE_BPS = 2
# Slippage of immediate fills against the mark (MARKET, crossing LIMIT, IOC, FOK).
TAKER_SLIPPAGE = Decimal("0.0005")


def real_clock() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Meta:
    next_order_id: int = 1
    next_trade_id: int = 1
    next_user_id: int = 100001
    seq: int = 1
    clock_offset_ms: int = 0
    synthetic_symbols: int = 0
    faults: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class State:
    meta: Meta
    market: Market
    accounts: dict[str, Account] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    orders_by_account: dict[str, list[Order]] = field(default_factory=dict)
    open_orders: dict[int, Order] = field(default_factory=dict)
    open_by_account: dict[str, dict[int, Order]] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    positions_by_account: dict[str, dict[str, Position]] = field(default_factory=dict)
    trades: dict[str, list[Trade]] = field(default_factory=dict)
    liquidations: list[dict[str, Any]] = field(default_factory=list)


_RECORD_KINDS: dict[str, type] = {
    "account": Account,
    "key": ApiKey,
    "order": Order,
    "position": Position,
    "trade": Trade,
}


class Engine:
    """The simulated exchange. Reach it in tests through `app.state.sim`."""

    def __init__(self, store: Store, *, seed: int, clock: Callable[[], int] | None) -> None:
        self.store = store
        self.seed = seed
        self._base_clock = clock or real_clock
        self.specs: dict[str, SymbolSpec] = load_symbols()
        self._dirty: dict[tuple[str, str], Any] = {}
        self.state = self._load()

    # ----- clock -------------------------------------------------------------------------

    def now(self) -> int:
        """Simulator time, ms: the base clock plus the offset set by POST /sim/clock."""
        return self._base_clock() + self.state.meta.clock_offset_ms

    # ----- persistence -------------------------------------------------------------------

    def _load(self) -> State:
        rows = self.store.load_all()
        meta_rows = rows.get("meta", {})
        meta = Meta(**json.loads(meta_rows["meta"])) if "meta" in meta_rows else Meta()
        for index in range(1, meta.synthetic_symbols + 1):
            spec = synthetic_symbol(index)
            self.specs[spec.symbol] = spec
        if "market" in meta_rows:
            market = Market.from_json(json.loads(meta_rows["market"]))
            for spec in self.specs.values():
                market_mod.add_symbol(market, spec)
        else:
            market = market_mod.new_market(self.seed, self._base_clock(), self.specs)
            self._dirty[("meta", "market")] = market
            self._dirty[("meta", "meta")] = meta
        state = State(meta=meta, market=market)
        for kind, cls in _RECORD_KINDS.items():
            for text in rows.get(kind, {}).values():
                record: Any = record_from_json(cls, text)
                self._index(state, kind, record)
        for text in rows.get("liquidation", {}).values():
            state.liquidations.append(json.loads(text))
        state.liquidations.sort(key=lambda item: int(item["id"]))
        for orders in state.orders_by_account.values():
            orders.sort(key=lambda order: order.order_id)
        for trades in state.trades.values():
            trades.sort(key=lambda trade: trade.id)
        if self._dirty:
            with self.store.write():
                self._flush()
        return state

    @staticmethod
    def _index(state: State, kind: str, record: Any) -> None:
        if isinstance(record, Account):
            state.accounts[record.account_id] = record
        elif isinstance(record, ApiKey):
            state.keys[record.orderly_key] = record
        elif isinstance(record, Order):
            state.orders[record.order_id] = record
            state.orders_by_account.setdefault(record.account_id, []).append(record)
            if record.is_open:
                state.open_orders[record.order_id] = record
                state.open_by_account.setdefault(record.account_id, {})[record.order_id] = record
        elif isinstance(record, Position):
            key = position_key(record.account_id, record.symbol, record.margin_mode)
            state.positions[key] = record
            state.positions_by_account.setdefault(record.account_id, {})[key] = record
        elif isinstance(record, Trade):
            state.trades.setdefault(record.account_id, []).append(record)

    def touch(self, record: Any) -> None:
        """Mark a record changed so the current operation persists it."""
        if isinstance(record, Account):
            self._dirty[("account", record.account_id)] = record
        elif isinstance(record, ApiKey):
            self._dirty[("key", record.orderly_key)] = record
        elif isinstance(record, Order):
            self._dirty[("order", str(record.order_id))] = record
        elif isinstance(record, Position):
            key = position_key(record.account_id, record.symbol, record.margin_mode)
            self._dirty[("position", key)] = record
        elif isinstance(record, Trade):
            self._dirty[("trade", str(record.id))] = record
        else:
            raise TypeError(type(record).__name__)

    def touch_meta(self) -> None:
        self._dirty[("meta", "meta")] = self.state.meta

    def touch_market(self) -> None:
        self._dirty[("meta", "market")] = self.state.market

    def _flush(self) -> None:
        if not self._dirty:
            return
        rows: list[tuple[str, str, str]] = []
        for (kind, key), record in self._dirty.items():
            if kind == "meta" and key == "meta":
                text = json.dumps(_meta_json(record))
            elif kind == "meta" and key == "market":
                text = json.dumps(record.to_json())
            elif kind == "liquidation":
                text = json.dumps(record)
            else:
                text = record_to_json(record)
            rows.append((kind, key, text))
        self._dirty.clear()
        self.store.put_many(rows)

    def _reload(self) -> None:
        self._dirty.clear()
        self.specs = load_symbols()
        self.state = self._load()

    # ----- operations --------------------------------------------------------------------

    def read(self, operation: Callable[[int], T]) -> T:
        """Run a read-only operation (walking the market first if a step is due)."""
        with self.store.lock:
            if self.store.changed_elsewhere():
                self._reload()
            now = self.now()
            if now // market_mod.STEP_MS > self.state.market.last_step:
                return self.write(operation)
            return operation(now)

    def write(self, operation: Callable[[int], T]) -> T:
        """Run an operation that may change state, as one transaction."""
        with self.store.lock:
            failure: SimError | None = None
            result: T | None = None
            try:
                with self.store.write():
                    if self.store.changed_elsewhere():
                        self._reload()
                    now = self.now()
                    self._tick(now)
                    try:
                        result = operation(now)
                    except SimError as exc:
                        failure = exc
                    self._flush()
            except BaseException:
                self._reload()
                raise
            if failure is not None:
                raise failure
            return result  # type: ignore[return-value]

    def _tick(self, now: int) -> None:
        before = self.state.market.last_step
        changed = market_mod.advance(self.state.market, now, self.specs)
        if self.state.market.last_step != before:
            self.touch_market()
        if changed:
            self.on_marks_changed(changed, now)

    def on_marks_changed(self, symbols: list[str], now: int) -> None:
        """Fill what the new marks crossed, then liquidate what they broke."""
        from runner.sim import fills, liquidation

        fills.fill_crossed_orders(self, symbols, now)
        liquidation.liquidate_breached(self, symbols, now)

    # ----- lookups used by the rule modules ------------------------------------------------

    def spec(self, symbol: object) -> SymbolSpec:
        spec = self.specs.get(symbol) if isinstance(symbol, str) else None
        if spec is None:
            raise SimError(INVALID_PARAM, f"symbol {symbol} is not supported")
        return spec

    def mark(self, symbol: str) -> Decimal:
        return self.state.market.marks[symbol]

    def account(self, account_id: str) -> Account:
        account = self.state.accounts.get(account_id)
        if account is None:
            raise SimError(INVALID_PARAM, f"account {account_id} does not exist")
        return account

    def leverage(self, account: Account, symbol: str, margin_mode: str) -> int:
        configured = account.leverages.get(leverage_key(symbol, margin_mode))
        if configured is not None:
            return configured
        return min(DEFAULT_LEVERAGE, self.specs[symbol].max_leverage)

    def cross_leverages(self, account: Account) -> dict[str, int]:
        return {symbol: self.leverage(account, symbol, CROSS) for symbol in self.specs}

    def default_mode(self, account: Account, symbol: str) -> str:
        return account.default_modes.get(symbol, CROSS)

    def position(self, account_id: str, symbol: str, margin_mode: str) -> Position | None:
        return self.state.positions.get(position_key(account_id, symbol, margin_mode))

    def position_or_new(self, account_id: str, symbol: str, margin_mode: str, now: int) -> Position:
        key = position_key(account_id, symbol, margin_mode)
        position = self.state.positions.get(key)
        if position is None:
            position = Position(
                account_id=account_id,
                symbol=symbol,
                margin_mode=margin_mode,
                qty=ZERO,
                cost_position=ZERO,
                average_open_price=ZERO,
                margin=ZERO,
                fee_24h=ZERO,
                pnl_24h=ZERO,
                seq=0,
                updated_time=now,
            )
            self.state.positions[key] = position
            self.state.positions_by_account.setdefault(account_id, {})[key] = position
        return position

    def account_positions(self, account_id: str) -> list[Position]:
        return list(self.state.positions_by_account.get(account_id, {}).values())

    def account_open_orders(self, account_id: str) -> list[Order]:
        return list(self.state.open_by_account.get(account_id, {}).values())

    def next_seq(self) -> int:
        self.state.meta.seq += 1
        self.touch_meta()
        return self.state.meta.seq

    def add_order(self, order: Order) -> None:
        self.state.orders[order.order_id] = order
        self.state.orders_by_account.setdefault(order.account_id, []).append(order)
        if order.is_open:
            self.state.open_orders[order.order_id] = order
            self.state.open_by_account.setdefault(order.account_id, {})[order.order_id] = order
        self.touch(order)

    def close_order(self, order: Order, status: str, now: int) -> None:
        """Move an order out of the open set (filled, cancelled); releases its reservation."""
        order.status = status
        order.frozen = ZERO
        order.updated_time = now
        self.state.open_orders.pop(order.order_id, None)
        self.state.open_by_account.get(order.account_id, {}).pop(order.order_id, None)
        self.touch(order)

    def add_trade(self, trade: Trade) -> None:
        self.state.trades.setdefault(trade.account_id, []).append(trade)
        self.touch(trade)

    def record_liquidation(self, event: dict[str, Any]) -> None:
        event["id"] = len(self.state.liquidations) + 1
        self.state.liquidations.append(event)
        self._dirty[("liquidation", str(event["id"]))] = event

    def add_synthetic_symbols(self, count: int) -> list[str]:
        added: list[str] = []
        while self.state.meta.synthetic_symbols < count:
            self.state.meta.synthetic_symbols += 1
            spec = synthetic_symbol(self.state.meta.synthetic_symbols)
            self.specs[spec.symbol] = spec
            market_mod.add_symbol(self.state.market, spec)
            added.append(spec.symbol)
        self.touch_meta()
        self.touch_market()
        return added


def _meta_json(meta: Meta) -> dict[str, Any]:
    return {
        "next_order_id": meta.next_order_id,
        "next_trade_id": meta.next_trade_id,
        "next_user_id": meta.next_user_id,
        "seq": meta.seq,
        "clock_offset_ms": meta.clock_offset_ms,
        "synthetic_symbols": meta.synthetic_symbols,
        "faults": meta.faults,
    }

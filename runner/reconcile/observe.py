"""Observe: read the account's state in a constant number of requests, concurrently.

A no-op reconcile costs six reads whatever the number of symbols: marks (`/v1/public/futures`),
leverage for every symbol and mode (`/v1/client/leverages`), default margin modes, open orders
(all pages of `/v1/orders?status=INCOMPLETE`), positions in both modes, and the USDC holding.
Symbol rules (`/v1/public/info`) change rarely, so they are cached in the state directory for
a few minutes. Only when a declared entry is neither resting nor known to have filled is its
client_order_id looked up, once; a fill is a fact that never changes, so the journal keeps it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from runner.enums import MarginMode, OrderStatus
from runner.errors import RunnerError
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import NotFound
from runner.orderly.orders import Order
from runner.orderly.types import SymbolInfo
from runner.reconcile.state import (
    AccountState,
    OpenOrder,
    OrderHistory,
    PositionState,
    Slot,
    SymbolRules,
)

RULES_CACHE_TTL_S = 600
_LOOKUP_CONCURRENCY = 5
_SINGLE_LOOKUPS = 4  # more ids than this are matched against the completed-order list
_HISTORY_PAGES = 4  # at 500 orders a page


class FillMemory(Protocol):
    """What observe needs from the journal: the fills it already knows about."""

    def filled_order_ids(self, account_id: str) -> set[str]: ...

    def mark_order_filled(
        self, account_id: str, client_order_id: str, *, filled_at_ms: int
    ) -> None: ...


def rules_from_info(info: SymbolInfo) -> SymbolRules:
    return SymbolRules(
        symbol=info.symbol,
        quote_tick=info.quote_tick,
        base_tick=info.base_tick,
        base_min=info.base_min,
        base_max=info.base_max,
        min_notional=info.min_notional,
        quote_min=info.quote_min,
        quote_max=info.quote_max,
        price_range=info.price_range,
        price_scope=info.price_scope,
        base_imr=info.base_imr,
        base_mmr=info.base_mmr,
        imr_factor=info.imr_factor or Decimal(0),
    )


_RULE_FIELDS = (
    "quote_tick",
    "base_tick",
    "base_min",
    "base_max",
    "min_notional",
    "quote_min",
    "quote_max",
    "price_range",
    "price_scope",
    "base_imr",
    "base_mmr",
    "imr_factor",
)


class RulesCache:
    """Symbol rules of one exchange, kept on disk for RULES_CACHE_TTL_S seconds."""

    def __init__(self, path: Path | None, ttl_s: float = RULES_CACHE_TTL_S) -> None:
        self.path = path
        self.ttl_s = ttl_s

    def load(self) -> dict[str, SymbolRules] | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            document = json.loads(self.path.read_text())
            if time.time() - float(document["saved_at"]) > self.ttl_s:
                return None
            return {
                symbol: SymbolRules(symbol=symbol, **{k: Decimal(row[k]) for k in _RULE_FIELDS})
                for symbol, row in document["rules"].items()
            }
        except (ValueError, KeyError, TypeError, OSError):
            return None  # a damaged cache is only a cache: read the exchange again

    def save(self, rules: dict[str, SymbolRules]) -> None:
        if self.path is None:
            return
        document = {
            "saved_at": time.time(),
            "rules": {
                symbol: {k: str(getattr(r, k)) for k in _RULE_FIELDS} for symbol, r in rules.items()
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document))
        tmp.replace(self.path)


def _open_order(order: Order) -> OpenOrder:
    return OpenOrder(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        margin_mode=order.margin_mode or MarginMode.CROSS,
        side=order.side,
        type=order.type,
        price=order.price,
        quantity=order.quantity,
        executed=order.total_executed_quantity,
        reduce_only=order.reduce_only,
        status=order.status,
    )


async def read_rules(
    client: OrderlyClient, cache: RulesCache, required: Iterable[str] = ()
) -> dict[str, SymbolRules]:
    """Symbol rules, from the cache unless it is stale or lacks a symbol we need."""
    cached = cache.load()
    if cached is not None and all(symbol in cached for symbol in required):
        return cached
    rules = {info.symbol: rules_from_info(info) for info in await client.get_symbols()}
    cache.save(rules)
    return rules


async def observe(
    client: OrderlyClient,
    *,
    account_id: str,
    cache: RulesCache,
    declared_ids: Iterable[str] = (),
    symbols: Iterable[str] = (),
    fills: FillMemory | None = None,
    margin_added_today: Decimal = Decimal(0),
) -> AccountState:
    """Read everything the planner needs, in a constant number of concurrent requests."""
    try:
        async with asyncio.TaskGroup() as group:
            rules_task = group.create_task(read_rules(client, cache, symbols))
            futures_task = group.create_task(client.get_futures())
            leverages_task = group.create_task(client.get_leverages())
            modes_task = group.create_task(client.get_margin_modes())
            orders_task = group.create_task(client.get_orders(status="INCOMPLETE"))
            positions_task = group.create_task(client.get_positions())
            holdings_task = group.create_task(client.get_holding())
    except BaseExceptionGroup as group_error:
        # One failed read cancels the others; the user needs that one read's error.
        raise _first_error(group_error) from None
    rules, futures, leverages = rules_task.result(), futures_task.result(), leverages_task.result()
    modes, orders, positions = modes_task.result(), orders_task.result(), positions_task.result()
    holdings = holdings_task.result()
    open_orders = tuple(_open_order(o) for o in orders if o.status.is_open)
    position_rows: dict[Slot, PositionState] = {}
    for row in positions.rows:
        if row.position_qty == 0:
            continue
        position_rows[(row.symbol, row.margin_mode)] = PositionState(
            symbol=row.symbol,
            margin_mode=row.margin_mode,
            qty=row.position_qty,
            cost_position=row.cost_position,
            average_open_price=row.average_open_price,
            mark_price=row.mark_price,
            margin=row.margin,
            est_liq_price=row.est_liq_price if row.est_liq_price > 0 else None,
            unsettled_pnl=row.unsettled_pnl,
            leverage=row.leverage,
        )
    usdc = next((h.holding for h in holdings if h.token == "USDC"), Decimal(0))
    history = await _history(client, account_id, declared_ids, open_orders, fills)
    return AccountState(
        account_id=account_id,
        rules=rules,
        marks={f.symbol: f.mark_price for f in futures},
        leverages={(lv.symbol, lv.margin_mode): lv.leverage for lv in leverages},
        default_modes={m.symbol: m.default_margin_mode for m in modes},
        open_orders=open_orders,
        positions=position_rows,
        usdc_holding=usdc,
        free_collateral=positions.free_collateral,
        total_collateral=positions.total_collateral_value,
        order_history=history,
        margin_added_today=margin_added_today,
        observed_at_ms=int(time.time() * 1000),
    )


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error worth showing: a RunnerError (the API call, its code and message) first."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return next((e for e in leaves if isinstance(e, RunnerError)), leaves[0])


async def _history(
    client: OrderlyClient,
    account_id: str,
    declared_ids: Iterable[str],
    open_orders: tuple[OpenOrder, ...],
    fills: FillMemory | None,
) -> dict[str, OrderHistory]:
    """The fate of each declared id that is not resting: known fills from the journal, the
    rest read from the exchange (which keeps the most recent order per id).

    A few ids are looked up one by one. Many (a first apply of a large playbook) are matched
    against the account's completed orders, newest first, a bounded number of pages; only the
    ids those pages do not settle are then looked up one by one."""
    resting = {o.client_order_id for o in open_orders}
    known = fills.filled_order_ids(account_id) if fills is not None else set()
    history = {
        coid: OrderHistory(coid, OrderStatus.FILLED)
        for coid in declared_ids
        if coid in known and coid not in resting
    }
    unknown = [c for c in dict.fromkeys(declared_ids) if c not in resting and c not in known]
    if len(unknown) > _SINGLE_LOOKUPS:
        completed, complete = await client.get_orders_upto(
            _HISTORY_PAGES, status="COMPLETED", sort_by="UPDATED_TIME_DESC"
        )
        wanted = set(unknown)
        for order in completed:  # newest first: the first one seen per id is the latest
            coid = order.client_order_id
            if coid in wanted and coid not in history:
                _remember(history, fills, account_id, order)
        unknown = [c for c in unknown if c not in history]
        if complete:
            return history  # every completed order was read: the rest were never placed
    limit = asyncio.Semaphore(_LOOKUP_CONCURRENCY)

    async def look_up(coid: str) -> None:
        async with limit:
            try:
                order = await client.get_order_by_client_id(coid)
            except NotFound:
                return
        _remember(history, fills, account_id, order)

    await asyncio.gather(*(look_up(c) for c in unknown))
    return history


def _remember(
    history: dict[str, OrderHistory], fills: FillMemory | None, account_id: str, order: Order
) -> None:
    coid = order.client_order_id or ""
    history[coid] = OrderHistory(coid, order.status, order.total_executed_quantity)
    if order.status == OrderStatus.FILLED and fills is not None:
        fills.mark_order_filled(
            account_id, coid, filled_at_ms=order.updated_time or order.created_time
        )

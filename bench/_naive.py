"""The baseline of bench/reconcile.py: a playbook applied the way a script author would.

Per symbol, one call at a time: read the leverage (GET /v1/client/leverage), the position
(GET /v1/position/{symbol}) and the open orders (GET /v1/orders?symbol=&status=INCOMPLETE),
then write what differs (POST /v1/client/leverages for that one symbol, POST /v1/order per
missing entry). A 429 is respected by sleeping for the advertised Retry-After and trying again.

It sends through the same OrderlyClient as the runner (same signing, the same client-side
budgets and retry policy), so the comparison measures the strategy, not the HTTP stack. It
uses the runner's client_order_ids only so that the bench can check, afterwards, that the
baseline reached the same state. It must never be used against a real account: it has no
guards, no journal and no lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from runner.orderly.client import OrderlyClient
from runner.orderly.errors import RateLimited
from runner.orderly.orders import OrderRequest
from runner.playbook.ids import client_order_id
from runner.playbook.model import Playbook

T = TypeVar("T")
P = ParamSpec("P")

MAX_TRIES = 20  # per call: a script that never gives up is not a script anyone can run
DEFAULT_BACKOFF_S = 1.0


@dataclass(slots=True)
class NaiveResult:
    leverage_writes: int = 0
    orders_placed: int = 0
    rate_limited: int = 0  # 429s that reached the script (the client's own retries ran out)


@dataclass(slots=True)
class _Script:
    result: NaiveResult
    sleep: Callable[[float], Awaitable[None]]

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Send; on a 429, sleep for the advertised Retry-After and send again."""
        for attempt in range(1, MAX_TRIES + 1):
            try:
                return await fn(*args, **kwargs)
            except RateLimited as exc:
                if attempt == MAX_TRIES:
                    raise
                self.result.rate_limited += 1
                await self.sleep(
                    exc.retry_after if exc.retry_after is not None else DEFAULT_BACKOFF_S
                )
        raise AssertionError("unreachable")


async def converge_naive(
    client: OrderlyClient,
    playbook: Playbook,
    *,
    sleep: Callable[[float], Awaitable[None]],
) -> NaiveResult:
    """One pass over the playbook, symbol after symbol, call after call."""
    script = _Script(NaiveResult(), sleep)
    for spec in playbook.symbols:
        symbol, mode = spec.symbol, spec.margin_mode
        setting = await script.call(client.get_leverage, symbol, mode)
        position = await script.call(client.get_position, symbol, mode)
        resting = await script.call(client.get_orders, symbol=symbol, status="INCOMPLETE")
        if setting.leverage != spec.leverage:
            await script.call(client.set_leverage, spec.leverage, symbol, mode)
            script.result.leverage_writes += 1
        if position.position_qty != 0:
            continue  # the entries filled: a script author would not buy again
        open_ids = {order.client_order_id for order in resting}
        for order in spec.orders:
            coid = client_order_id(playbook.name, symbol, mode, order)
            if coid in open_ids:
                continue
            request = OrderRequest(
                symbol=symbol,
                order_type=order.type,
                side=order.side,
                order_quantity=order.quantity,
                order_price=order.price,
                client_order_id=coid,
                margin_mode=mode,
            )
            await script.call(client.create_order, request)
            script.result.orders_placed += 1
    return script.result

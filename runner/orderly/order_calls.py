"""Order endpoints of OrderlyClient (§4.2), where a lost answer can cost real money.

A new order whose outcome is unknown (timeout, connection lost after sending, 5xx) is never
simply sent again: its client_order_id is looked up first, and it is placed again only when the
exchange says no such order exists. Without a client_order_id there is nothing to look up, so
the caller gets `OutcomeUnknown`. A cancel that finds the order already gone (-1006) is done,
which is also why cancels may be resent after an unknown outcome.

Caveat kept explicit: the lookup returns the exchange's most recent order with that id, so the
caller must not reuse a client_order_id for a second order (the playbook's ids carry a hash of
the order's spec for this reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict, Unpack

from runner.enums import OrderStatus, OrderType, Side
from runner.orderly.errors import (
    Duplicate,
    NotFound,
    OrderlyError,
    OutcomeUnknown,
    ProtocolError,
    Rejected,
    UsageError,
)
from runner.orderly.orders import (
    BatchOrderRow,
    Order,
    OrderAck,
    OrderRequest,
    check_client_order_id,
)
from runner.orderly.retry import RetryPolicy
from runner.orderly.transport import Call, RequestCore
from runner.orderly.wire import Fields, path_segment

MAX_BATCH = 10
MAX_PAGE_SIZE = 500


class OrderFilters(TypedDict, total=False):
    """The filters of GET /v1/orders (orderly-api.md §4.2), in the order they are sent."""

    symbol: str
    side: Side
    order_type: OrderType
    status: str
    order_tag: str
    start_t: int
    end_t: int
    sort_by: str
    size: int


_MAX_PAGES = 10_000
# Values Orderly puts in error_message of a batch row that was placed (§4.2 example: "none").
_NO_ERROR = frozenset({"", "none", "null"})
_EDIT_FIELDS = (
    "symbol",
    "order_type",
    "side",
    "order_price",
    "order_quantity",
    "order_amount",
    "visible_quantity",
    "reduce_only",
    "client_order_id",
)


class OrderCalls:
    """Mixin of OrderlyClient: needs the request core, the retry policy and the sleep."""

    _core: RequestCore
    retry: RetryPolicy
    _sleep: Callable[[float], Awaitable[None]]

    async def _data(self, call: Call) -> Fields:
        return Fields(await self._core.call(call), (call.method, call.path))

    # -- create -------------------------------------------------------------------------

    async def create_order(self, req: OrderRequest) -> OrderAck:
        """Place one order; an unknown outcome is resolved through its client_order_id."""
        call = Call("POST", "/v1/order", "/v1/order", body=req.to_body())
        unknown: OutcomeUnknown | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return OrderAck.from_json(await self._data(call))
            except OutcomeUnknown as exc:
                if req.client_order_id is None:
                    raise
                unknown = exc
            except Duplicate:
                if unknown is None:
                    raise  # an open order already carries this client_order_id
                # else: our earlier, unanswered attempt did land; the lookup below finds it.
            # Give an order that is still being processed a moment to become visible.
            await self._sleep(self.retry.delay(unknown, attempt))
            placed = await self._find_placed(req, unknown)
            if placed is not None:
                return OrderAck.from_order(placed)
        assert unknown is not None
        raise unknown

    async def create_orders(self, reqs: Sequence[OrderRequest]) -> list[BatchOrderRow]:
        """Place up to 10 orders in one request; one result per order, in the given order.

        reduce_only is refused here because Orderly ignores it in batches (§4.2): a
        reduce-only order sent this way could open a position instead of closing one.
        """
        reqs = list(reqs)
        if not 1 <= len(reqs) <= MAX_BATCH:
            raise UsageError(f"a batch holds 1 to {MAX_BATCH} orders, not {len(reqs)}")
        if any(r.reduce_only for r in reqs):
            raise UsageError("reduce_only is not applied in batch orders: use create_order")
        coids = [r.client_order_id for r in reqs if r.client_order_id is not None]
        if len(coids) != len(set(coids)):
            raise UsageError("two orders of one batch share a client_order_id")
        results: dict[int, BatchOrderRow] = {}
        pending = list(range(len(reqs)))
        unknown: OutcomeUnknown | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            body = {"orders": [reqs[i].to_body() for i in pending]}
            call = Call("POST", "/v1/batch-order", "/v1/batch-order", body=body, items=len(pending))
            try:
                rows = (await self._data(call)).rows()
            except OutcomeUnknown as exc:
                if any(reqs[i].client_order_id is None for i in pending):
                    raise
                unknown = exc
            else:
                if len(rows) != len(pending):
                    raise ProtocolError(
                        call.method,
                        call.path,
                        None,
                        None,
                        f"{len(rows)} result rows for {len(pending)} orders",
                    )
                for i, row in zip(pending, rows, strict=True):
                    results[i] = _batch_row(reqs[i], row)
                return [results[i] for i in range(len(reqs))]
            await self._sleep(self.retry.delay(unknown, attempt))
            still_missing = []
            for i in pending:
                placed = await self._find_placed(reqs[i], unknown)
                if placed is None:
                    still_missing.append(i)
                else:
                    results[i] = BatchOrderRow(reqs[i], OrderAck.from_order(placed), None)
            pending = still_missing
            if not pending:
                return [results[i] for i in range(len(reqs))]
        assert unknown is not None
        raise unknown

    async def _find_placed(self, req: OrderRequest, unknown: OutcomeUnknown) -> Order | None:
        """The order `req` became, or None when the exchange has no order with its id."""
        assert req.client_order_id is not None
        try:
            order = await self.get_order_by_client_id(req.client_order_id)
        except NotFound:
            return None
        except OrderlyError as exc:
            raise OutcomeUnknown(
                unknown.method,
                unknown.path,
                unknown.http_status,
                unknown.code,
                f"{unknown.message}; looking client_order_id {req.client_order_id} up failed "
                f"too ({exc})",
            ) from None
        if order.symbol != req.symbol or order.side != req.side:
            raise OutcomeUnknown(
                unknown.method,
                unknown.path,
                unknown.http_status,
                unknown.code,
                f"{unknown.message}; client_order_id {req.client_order_id} belongs to a "
                f"{order.side} order on {order.symbol}, not to this one",
            )
        if order.status is OrderStatus.REJECTED:
            # It was processed after all, and refused: say so rather than acknowledge it.
            raise Rejected(
                unknown.method,
                unknown.path,
                None,
                None,
                f"order {order.order_id} (client_order_id {req.client_order_id}) was rejected "
                "by the exchange; its answer had been lost",
            )
        return order

    # -- edit and cancel ----------------------------------------------------------------

    async def edit_order(self, order_id: int, req: OrderRequest) -> None:
        """Change the price or quantity of a resting order (PUT /v1/order)."""
        full = req.to_body()
        body: dict[str, object] = {"order_id": str(order_id)}
        body.update((key, full[key]) for key in _EDIT_FIELDS if key in full)
        await self._core.call(Call("PUT", "/v1/order", "/v1/order", body=body))

    async def _cancel(self, call: Call) -> bool:
        try:
            await self._core.call(call)
        except NotFound:
            return False
        return True

    async def cancel_order(self, order_id: int, symbol: str) -> bool:
        """Cancel one order. False when it was no longer open (-1006), which is not an error:
        it may have filled, or an earlier attempt of this very call may have cancelled it."""
        query = (("order_id", order_id), ("symbol", symbol))
        return await self._cancel(
            Call("DELETE", "/v1/order", "/v1/order", query=query, idempotent=True)
        )

    async def cancel_order_by_client_id(self, client_order_id: str, symbol: str) -> bool:
        check_client_order_id(client_order_id)
        query = (("client_order_id", client_order_id), ("symbol", symbol))
        return await self._cancel(
            Call("DELETE", "/v1/client/order", "/v1/client/order", query=query, idempotent=True)
        )

    async def cancel_all_orders(self, symbol: str | None = None) -> None:
        """Cancel every open order of the account, or of one symbol."""
        query = (("symbol", symbol),)
        await self._cancel(Call("DELETE", "/v1/orders", "/v1/orders", query=query, idempotent=True))

    async def cancel_orders(self, order_ids: Sequence[int]) -> None:
        """Cancel orders by id, 10 per request; ids already gone are ignored."""
        await self._cancel_batches("/v1/batch-order", "order_ids", [str(i) for i in order_ids])

    async def cancel_orders_by_client_id(self, client_order_ids: Sequence[str]) -> None:
        for coid in client_order_ids:
            check_client_order_id(coid)
        await self._cancel_batches(
            "/v1/client/batch-order", "client_order_ids", list(client_order_ids)
        )

    async def _cancel_batches(self, path: str, name: str, ids: list[str]) -> None:
        for start in range(0, len(ids), MAX_BATCH):
            query = ((name, ",".join(ids[start : start + MAX_BATCH])),)
            await self._cancel(Call("DELETE", path, path, query=query, idempotent=True))

    # -- read ---------------------------------------------------------------------------

    async def get_orders(self, **filters: Unpack[OrderFilters]) -> list[Order]:
        """Every order matching the filters, all pages read. `status` is an OrderStatus or a
        bundle (`INCOMPLETE`, `COMPLETED`). An order seen on two pages is kept once."""
        orders, complete = await self.get_orders_upto(_MAX_PAGES, **filters)
        if not complete:
            raise ProtocolError("GET", "/v1/orders", None, None, f"more than {_MAX_PAGES} pages")
        return orders

    async def get_orders_upto(
        self, max_pages: int, **filters: Unpack[OrderFilters]
    ) -> tuple[list[Order], bool]:
        """Like `get_orders`, reading at most `max_pages` pages; the flag says whether that was
        every matching order."""
        size = filters.get("size", MAX_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise UsageError(f"page size must be 1 to {MAX_PAGE_SIZE}, not {size}")
        # the query in a fixed order, so the bytes signed are the bytes sent
        query_filters = tuple(
            (name, filters.get(name)) for name in OrderFilters.__annotations__ if name != "size"
        )
        orders: dict[int, Order] = {}
        for page in range(1, max_pages + 1):
            query = (*query_filters, ("page", page), ("size", size))
            data = await self._data(Call("GET", "/v1/orders", "/v1/orders", query=query))
            rows = data.rows()
            for row in rows:
                order = Order.from_json(row)
                orders.setdefault(order.order_id, order)
            per_page, total = size, None
            if data.has("meta"):
                meta = data.sub("meta")
                per_page = meta.opt_integer("records_per_page") or size
                total = meta.opt_integer("total")
            if len(rows) < per_page or (total is not None and page * per_page >= total):
                return list(orders.values()), True
        return list(orders.values()), False

    async def get_order(self, order_id: int) -> Order:
        path = f"/v1/order/{int(order_id)}"
        return Order.from_json(await self._data(Call("GET", "/v1/order/{order_id}", path)))

    async def get_order_by_client_id(self, client_order_id: str) -> Order:
        """The most recent order carrying `client_order_id`; NotFound when there is none."""
        check_client_order_id(client_order_id)
        path = f"/v1/client/order/{path_segment(client_order_id)}"
        call = Call("GET", "/v1/client/order/{client_order_id}", path)
        return Order.from_json(await self._data(call))


def _batch_row(req: OrderRequest, row: Fields) -> BatchOrderRow:
    message = row.opt_text("error_message")
    failed = message is not None and message.strip().lower() not in _NO_ERROR
    if failed or not row.has("order_id"):
        code = row.opt_integer("error_code") if row.has("error_code") else None
        return BatchOrderRow(req, None, message or "refused without a message", code)
    return BatchOrderRow(req, OrderAck.from_json(row), None)

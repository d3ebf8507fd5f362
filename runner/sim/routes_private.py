"""Authenticated /v1 routes: leverage and margin mode, orders, positions, balances.

Each route is one engine operation (see web.private_endpoint); the rules live in accounts.py
and orders.py. Paths, field names, envelopes and codes follow orderly-api.md §4.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from runner.sim import accounts, orders, views
from runner.sim import errors as e
from runner.sim import ratelimit as rl
from runner.sim.engine import Engine
from runner.sim.errors import SimError
from runner.sim.model import CROSS, MARGIN_MODES, ZERO, Order, Position
from runner.sim.numbers import parse_int
from runner.sim.web import Call, no_data, private_endpoint

LEVERAGE_FIELDS = frozenset({"leverage", "symbol", "margin_mode"})
MARGIN_MODE_FIELDS = frozenset({"symbol", "default_margin_mode"})
POSITION_MARGIN_FIELDS = frozenset({"symbol", "amount", "type"})
MAX_BATCH = 10
STATUS_FILTERS = {
    "NEW": ("NEW",),
    "PARTIAL_FILLED": ("PARTIAL_FILLED",),
    "FILLED": ("FILLED",),
    "CANCELLED": ("CANCELLED",),
    "REJECTED": ("REJECTED",),
    "INCOMPLETE": ("NEW", "PARTIAL_FILLED"),
    "COMPLETED": ("CANCELLED", "FILLED"),
}
SORTS = ("CREATED_TIME_DESC", "CREATED_TIME_ASC", "UPDATED_TIME_DESC", "UPDATED_TIME_ASC")


def _mode_param(value: object) -> str:
    if value is None or value == "":
        return CROSS
    if not isinstance(value, str) or value.upper() not in MARGIN_MODES:
        raise SimError(e.INVALID_PARAM, "margin_mode must be CROSS or ISOLATED")
    return value.upper()


# ----- leverage and margin mode ------------------------------------------------------------


def get_leverage(engine: Engine, call: Call) -> dict[str, Any]:
    spec = engine.spec(call.params.get("symbol"))
    mode = _mode_param(call.params.get("margin_mode"))
    leverage = engine.leverage(call.account, spec.symbol, mode)
    return {"symbol": spec.symbol, "margin_mode": mode, "leverage": leverage}


def get_leverages(engine: Engine, call: Call) -> dict[str, Any]:
    rows = [
        {
            "symbol": symbol,
            "margin_mode": mode,
            "leverage": engine.leverage(call.account, symbol, mode),
        }
        for symbol in engine.specs
        for mode in MARGIN_MODES
    ]
    return {"rows": rows}


def post_leverages(engine: Engine, call: Call) -> dict[str, Any]:
    orders.reject_unknown_fields(call.params, LEVERAGE_FIELDS)
    return accounts.set_leverage(engine, call.account, call.params, call.now)


def get_margin_modes(engine: Engine, call: Call) -> dict[str, Any]:
    rows = [
        {"symbol": symbol, "default_margin_mode": engine.default_mode(call.account, symbol)}
        for symbol in engine.specs
    ]
    return {"rows": rows}


def post_margin_mode(engine: Engine, call: Call) -> Any:
    orders.reject_unknown_fields(call.params, MARGIN_MODE_FIELDS)
    accounts.set_default_mode(engine, call.account, call.params, call.now)
    return no_data()


# ----- orders ------------------------------------------------------------------------------


def create_order(engine: Engine, call: Call) -> dict[str, Any]:
    orders.reject_unknown_fields(call.params, orders.CREATE_FIELDS)
    order = orders.place_order(engine, call.account, call.params, call.now)
    return views.order_ack(order)


def batch_create(engine: Engine, call: Call) -> dict[str, Any]:
    orders.reject_unknown_fields(call.params, frozenset({"orders"}))
    items = call.params.get("orders")
    if not isinstance(items, list) or not items:
        raise SimError(e.INVALID_PARAM, "orders must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise SimError(e.INVALID_PARAM, f"at most {MAX_BATCH} orders per batch")
    for item in items:
        if not isinstance(item, dict):
            raise SimError(e.INVALID_PARAM, "each order must be a JSON object")
        orders.reject_unknown_fields(item, orders.CREATE_FIELDS)
    rows = []
    for item in items:
        # reduce_only is not applied in batch orders (§4.2)
        body = {k: v for k, v in item.items() if k != "reduce_only"}
        try:
            order = orders.place_order(engine, call.account, body, call.now)
        except SimError as exc:
            rows.append(
                {
                    "order_id": None,
                    "client_order_id": body.get("client_order_id") or "",
                    "order_type": body.get("order_type"),
                    "order_price": None,
                    "order_quantity": None,
                    "error_code": exc.code,
                    "error_message": exc.message,
                }
            )
            continue
        rows.append(views.order_ack(order))
    return {"rows": rows}


def edit_order(engine: Engine, call: Call) -> dict[str, Any]:
    orders.reject_unknown_fields(call.params, orders.EDIT_FIELDS)
    orders.edit_order(engine, call.account, call.params, call.now)
    return {"status": "EDIT_SENT"}


def cancel_order(engine: Engine, call: Call) -> dict[str, Any]:
    order = orders.find_open_order(
        engine, call.account, call.params.get("order_id"), call.params.get("symbol")
    )
    orders.cancel(engine, order, call.now)
    return {"status": "CANCEL_SENT"}


def cancel_by_client_id(engine: Engine, call: Call) -> dict[str, Any]:
    order = orders.find_open_by_client_id(
        engine, call.account, call.params.get("client_order_id"), call.params.get("symbol")
    )
    orders.cancel(engine, order, call.now)
    return {"status": "CANCEL_SENT"}


def cancel_all(engine: Engine, call: Call) -> dict[str, Any]:
    symbol = call.params.get("symbol") or None
    if symbol is not None:
        engine.spec(symbol)
    orders.cancel_all(engine, call.account, symbol, call.now)
    return {"status": "CANCEL_ALL_SENT"}


def _id_list(raw: object, name: str) -> list[str]:
    ids = [part.strip() for part in str(raw or "").split(",") if part.strip()]
    if not ids:
        raise SimError(e.INVALID_PARAM, f"{name} is required")
    if len(ids) > MAX_BATCH:
        raise SimError(e.INVALID_PARAM, f"at most {MAX_BATCH} ids per batch")
    return ids


def batch_cancel(engine: Engine, call: Call) -> dict[str, Any]:
    wanted = {orders.parse_order_id(i) for i in _id_list(call.params.get("order_ids"), "order_ids")}
    found = [o for o in engine.account_open_orders(call.account.account_id) if o.order_id in wanted]
    if not found:
        raise SimError(e.RESOURCE_NOT_FOUND, "none of the orders is open")
    for order in found:
        orders.cancel(engine, order, call.now)
    return {"status": "CANCEL_ALL_SENT"}


def batch_cancel_by_client_id(engine: Engine, call: Call) -> dict[str, Any]:
    wanted = set(_id_list(call.params.get("client_order_ids"), "client_order_ids"))
    found = [
        o
        for o in engine.account_open_orders(call.account.account_id)
        if o.client_order_id in wanted
    ]
    if not found:
        raise SimError(e.RESOURCE_NOT_FOUND, "none of the orders is open")
    for order in found:
        orders.cancel(engine, order, call.now)
    return {"status": "CANCEL_ALL_SENT"}


def page_params(params: dict[str, Any], default_size: int) -> tuple[int, int]:
    page = parse_int(params.get("page") or 1, "page")
    size = parse_int(params.get("size") or default_size, "size")
    if page < 1:
        raise SimError(e.INVALID_PARAM, "page starts at 1")
    if not 1 <= size <= 500:
        raise SimError(e.INVALID_PARAM, "size must be between 1 and 500")
    return page, size


def paginate(rows: list[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    meta = {"total": len(rows), "records_per_page": size, "current_page": page}
    return rows[(page - 1) * size : page * size], meta


def list_orders(engine: Engine, call: Call) -> dict[str, Any]:
    p = call.params
    page, size = page_params(p, 25)
    selected: list[Order] = list(engine.state.orders_by_account.get(call.account.account_id, []))
    if p.get("symbol"):
        selected = [o for o in selected if o.symbol == p["symbol"]]
    if p.get("side"):
        selected = [o for o in selected if o.side == str(p["side"]).upper()]
    if p.get("order_type"):
        selected = [o for o in selected if o.type == str(p["order_type"]).upper()]
    if p.get("status"):
        statuses = STATUS_FILTERS.get(str(p["status"]).upper())
        if statuses is None:
            raise SimError(e.INVALID_PARAM, f"unknown status {p['status']}")
        selected = [o for o in selected if o.status in statuses]
    if p.get("order_tag"):
        selected = [o for o in selected if o.order_tag == p["order_tag"]]
    if p.get("start_t"):
        start = parse_int(p["start_t"], "start_t")
        selected = [o for o in selected if o.created_time >= start]
    if p.get("end_t"):
        end = parse_int(p["end_t"], "end_t")
        selected = [o for o in selected if o.created_time <= end]
    sort_by = str(p.get("sort_by") or "CREATED_TIME_DESC").upper()
    if sort_by not in SORTS:
        raise SimError(e.INVALID_PARAM, f"sort_by must be one of {', '.join(SORTS)}")
    by_updated = sort_by.startswith("UPDATED")
    selected.sort(
        key=lambda o: (o.updated_time if by_updated else o.created_time, o.order_id),
        reverse=sort_by.endswith("DESC"),
    )
    chunk, meta = paginate(selected, page, size)
    user_id = call.account.user_id
    return {"meta": meta, "rows": [views.order_row(o, user_id) for o in chunk]}


def get_order(engine: Engine, call: Call) -> dict[str, Any]:
    order = engine.state.orders.get(orders.parse_order_id(call.path["order_id"]))
    if order is None or order.account_id != call.account.account_id:
        raise SimError(e.RESOURCE_NOT_FOUND, "order not found")
    return views.order_row(order, call.account.user_id)


def get_order_by_client_id(engine: Engine, call: Call) -> dict[str, Any]:
    coid = call.path["client_order_id"]
    matches = [
        o
        for o in engine.state.orders_by_account.get(call.account.account_id, [])
        if o.client_order_id == coid
    ]
    if not matches:
        raise SimError(e.RESOURCE_NOT_FOUND, "order not found")
    latest = max(matches, key=lambda o: (o.created_time, o.order_id))
    return views.order_row(latest, call.account.user_id)


def _trade_row(trade: Any) -> dict[str, Any]:
    return {
        "id": trade.id,
        "symbol": trade.symbol,
        "fee": trade.fee,
        "fee_asset": "USDC",
        "side": trade.side,
        "order_id": trade.order_id,
        "executed_price": trade.executed_price,
        "executed_quantity": trade.executed_quantity,
        "executed_timestamp": trade.executed_timestamp,
        "is_maker": 1 if trade.is_maker else 0,
        "realized_pnl": trade.realized_pnl,
        "match_id": trade.id,
        "margin_token": "USDC",
        "margin_change_qty": 0,
        "margin_mode": trade.margin_mode,
    }


def list_trades(engine: Engine, call: Call) -> dict[str, Any]:
    p = call.params
    page, size = page_params(p, 25)
    trades = list(reversed(engine.state.trades.get(call.account.account_id, [])))
    if p.get("symbol"):
        trades = [t for t in trades if t.symbol == p["symbol"]]
    if p.get("start_t"):
        start = parse_int(p["start_t"], "start_t")
        trades = [t for t in trades if t.executed_timestamp >= start]
    if p.get("end_t"):
        end = parse_int(p["end_t"], "end_t")
        trades = [t for t in trades if t.executed_timestamp <= end]
    chunk, meta = paginate(trades[:500], page, size)
    return {"meta": meta, "rows": [_trade_row(t) for t in chunk]}


def order_trades(engine: Engine, call: Call) -> dict[str, Any]:
    order_id = orders.parse_order_id(call.path["order_id"])
    trades = [
        t for t in engine.state.trades.get(call.account.account_id, []) if t.order_id == order_id
    ]
    return {"rows": [_trade_row(t) for t in trades]}


# ----- positions and balances --------------------------------------------------------------


def get_positions(engine: Engine, call: Call) -> dict[str, Any]:
    return views.positions_payload(engine, call.account)


def get_position(engine: Engine, call: Call) -> dict[str, Any]:
    spec = engine.spec(call.path["symbol"])
    mode = _mode_param(call.params.get("margin_mode"))
    summary = views.account_summary(engine, call.account)
    position = engine.position(call.account.account_id, spec.symbol, mode)
    if position is None:
        # no position: a zeroed row, so clients can read leverage and mark the same way
        flat = Position(
            call.account.account_id,
            spec.symbol,
            mode,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            0,
            call.now,
        )
        return views.position_row(engine, call.account, flat, summary)
    return views.position_row(engine, call.account, position, summary)


def get_positions_lite(engine: Engine, call: Call) -> dict[str, Any]:
    data = views.positions_payload(engine, call.account)
    rows = []
    for row in data["rows"]:
        lite = dict(row)
        lite.pop("seq", None)
        lite.pop("accrued_funding_fee", None)
        rows.append(lite)
    return {"rows": rows}


def post_position_margin(engine: Engine, call: Call) -> Any:
    orders.reject_unknown_fields(call.params, POSITION_MARGIN_FIELDS)
    accounts.adjust_position_margin(engine, call.account, call.params, call.now)
    return no_data()


def get_holding(engine: Engine, call: Call) -> dict[str, Any]:
    summary = views.account_summary(engine, call.account)
    return {"holding": [views.holding_row(call.account, summary)]}


def get_aggregate_holding(engine: Engine, call: Call) -> dict[str, Any]:
    summary = views.account_summary(engine, call.account)
    row = {"account_id": call.account.account_id, **views.holding_row(call.account, summary)}
    return {"rows": [row]}


def get_client_info(engine: Engine, call: Call) -> dict[str, Any]:
    return views.client_info(engine, call.account)


def get_account_info(engine: Engine, call: Call) -> dict[str, Any]:
    return views.account_info_payload(engine, call.account)


def _r(
    path: str, method: str, op: Any, rule: rl.Rule, *, write: bool = False, scope: str = "read"
) -> Route:
    return Route(path, private_endpoint(op, write=write, rule=rule, scope=scope), methods=[method])


ROUTES: list[Route] = [
    _r("/v1/client/leverage", "GET", get_leverage, rl.LEVERAGE_READ),
    _r("/v1/client/leverage", "POST", post_leverages, rl.LEVERAGE_WRITE, write=True),
    _r("/v1/client/leverages", "GET", get_leverages, rl.LEVERAGES_READ),
    _r("/v1/client/leverages", "POST", post_leverages, rl.LEVERAGE_WRITE, write=True),
    _r("/v1/client/margin_modes", "GET", get_margin_modes, rl.MARGIN_MODE),
    _r("/v1/client/margin_mode", "POST", post_margin_mode, rl.MARGIN_MODE, write=True),
    _r("/v1/order", "POST", create_order, rl.ORDER_WRITE, write=True, scope="trading"),
    _r("/v1/order", "PUT", edit_order, rl.ORDER_WRITE, write=True, scope="trading"),
    _r("/v1/order", "DELETE", cancel_order, rl.ORDER_WRITE, write=True, scope="trading"),
    _r("/v1/batch-order", "POST", batch_create, rl.BATCH_CREATE, write=True, scope="trading"),
    _r("/v1/batch-order", "DELETE", batch_cancel, rl.BATCH_CANCEL, write=True, scope="trading"),
    _r(
        "/v1/client/order",
        "DELETE",
        cancel_by_client_id,
        rl.ORDER_WRITE,
        write=True,
        scope="trading",
    ),
    _r(
        "/v1/client/batch-order",
        "DELETE",
        batch_cancel_by_client_id,
        rl.BATCH_CANCEL,
        write=True,
        scope="trading",
    ),
    _r("/v1/orders", "DELETE", cancel_all, rl.ORDER_WRITE, write=True, scope="trading"),
    _r("/v1/orders", "GET", list_orders, rl.ORDER_READ),
    _r("/v1/order/{order_id}/trades", "GET", order_trades, rl.ORDER_READ),
    _r("/v1/order/{order_id}", "GET", get_order, rl.ORDER_READ),
    _r("/v1/client/order/{client_order_id}", "GET", get_order_by_client_id, rl.ORDER_READ),
    _r("/v1/trades", "GET", list_trades, rl.ORDER_READ),
    _r("/v1/positions", "GET", get_positions, rl.POSITIONS),
    _r("/v1/position/{symbol}", "GET", get_position, rl.POSITIONS),
    _r("/v1/positions_lite", "GET", get_positions_lite, rl.POSITIONS_LITE),
    _r(
        "/v1/position_margin",
        "POST",
        post_position_margin,
        rl.POSITION_MARGIN,
        write=True,
        scope="trading",
    ),
    _r("/v1/client/holding", "GET", get_holding, rl.HOLDING),
    _r("/v1/client/aggregate/holding", "GET", get_aggregate_holding, rl.AGGREGATE),
    _r("/v1/client/info", "GET", get_client_info, rl.CLIENT_INFO),
    _r("/v1/account_info", "GET", get_account_info, rl.ACCOUNT_INFO),
]

"""Admin routes under /sim/ (Bearer admin token): accounts, prices, clock, market, faults,
synthetic symbols, balances, state. They exist only in the simulator.

They answer in Orderly's envelope so one client can drive both. GET /sim/state never shows a
secret; a generated key's secret is returned once, by the POST that created it.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from runner.sim import accounts, market, orders
from runner.sim import errors as e
from runner.sim.errors import SimError
from runner.sim.liquidation import liquidate_breached
from runner.sim.numbers import parse_decimal, parse_int
from runner.sim.web import SimContext, admin_endpoint

MAX_SYNTHETIC = 999


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise SimError(e.INVALID_PARAM, f"{name} must be true or false")
    return value


def post_accounts(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    """Create a funded account, or register an extra key to an existing one."""
    orders.reject_unknown_fields(body, frozenset({"account_id", "orderly_key", "balance", "scope"}))
    engine = ctx.engine
    account_id = body.get("account_id")
    if account_id is not None and not isinstance(account_id, str):
        raise SimError(e.INVALID_PARAM, "account_id must be a string")
    scope = body.get("scope") or accounts.DEFAULT_SCOPE
    orderly_key = body.get("orderly_key")
    secret = None
    if orderly_key is None:
        secret, orderly_key = accounts.new_key_pair()
    elif not isinstance(orderly_key, str):
        raise SimError(e.INVALID_PARAM, "orderly_key must be a string")
    if account_id is not None and account_id in engine.state.accounts:
        if body.get("balance") is not None:
            raise SimError(e.DUPLICATE_REQUEST, f"account {account_id} already exists")
        account = engine.state.accounts[account_id]
    else:
        balance = parse_decimal(body.get("balance", 0), "balance")
        if balance < 0:
            raise SimError(e.INVALID_PARAM, "balance must not be negative")
        accounts.public_key_bytes(orderly_key)
        account = accounts.create_account(engine, account_id, balance, now)
    key = accounts.register_key(engine, account.account_id, orderly_key, scope, now)
    data: dict[str, Any] = {
        "account_id": account.account_id,
        "orderly_key": key.orderly_key,
        "balance": account.holding,
    }
    if secret is not None:
        data["secret"] = secret
    return data


def post_balance(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    orders.reject_unknown_fields(body, frozenset({"account_id", "balance"}))
    engine = ctx.engine
    account = engine.account(str(body.get("account_id")))
    balance = parse_decimal(body.get("balance"), "balance")
    account.holding = balance
    account.updated_time = now
    engine.touch(account)
    liquidate_breached(engine, None, now)
    return {"account_id": account.account_id, "balance": account.holding}


def post_prices(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    orders.reject_unknown_fields(body, frozenset({"symbol", "mark_price"}))
    engine = ctx.engine
    spec = engine.spec(body.get("symbol"))
    price = parse_decimal(body.get("mark_price"), "mark_price", positive=True)
    market.set_mark(engine.state.market, spec, price)
    engine.touch_market()
    engine.on_marks_changed([spec.symbol], now)
    return {"symbol": spec.symbol, "mark_price": price}


def post_clock(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    orders.reject_unknown_fields(body, frozenset({"advance_ms"}))
    engine = ctx.engine
    step = parse_int(body.get("advance_ms"), "advance_ms")
    if step < 0:
        raise SimError(e.INVALID_PARAM, "advance_ms must not be negative")
    engine.state.meta.clock_offset_ms += step
    engine.touch_meta()
    later = engine.now()
    before = engine.state.market.last_step
    changed = market.advance(engine.state.market, later, engine.specs)
    if engine.state.market.last_step != before:
        engine.touch_market()
    if changed:
        engine.on_marks_changed(changed, later)
    return {"timestamp": later, "clock_offset_ms": engine.state.meta.clock_offset_ms}


def post_market(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    orders.reject_unknown_fields(body, frozenset({"frozen"}))
    engine = ctx.engine
    engine.state.market.frozen = _bool(body.get("frozen"), "frozen")
    engine.touch_market()
    return {"frozen": engine.state.market.frozen}


def post_faults(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    config = ctx.faults.configure(body)
    ctx.limiter.reset()
    ctx.engine.state.meta.faults = config.to_json()
    ctx.engine.touch_meta()
    return config.to_json()


def post_symbols(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    orders.reject_unknown_fields(body, frozenset({"count"}))
    count = parse_int(body.get("count"), "count")
    if not 0 <= count <= MAX_SYNTHETIC:
        raise SimError(e.INVALID_PARAM, f"count must be between 0 and {MAX_SYNTHETIC}")
    added = ctx.engine.add_synthetic_symbols(count)
    return {"added": added, "symbols": len(ctx.engine.specs)}


def get_state(ctx: SimContext, body: dict[str, Any], now: int) -> dict[str, Any]:
    engine = ctx.engine
    state = engine.state
    account_rows = []
    for account in state.accounts.values():
        positions = [
            {
                "symbol": p.symbol,
                "margin_mode": p.margin_mode,
                "position_qty": p.qty,
                "cost_position": p.cost_position,
                "average_open_price": p.average_open_price,
                "margin": p.margin,
            }
            for p in engine.account_positions(account.account_id)
            if p.qty != 0
        ]
        open_orders = [
            {
                "order_id": o.order_id,
                "symbol": o.symbol,
                "side": o.side,
                "type": o.type,
                "price": o.price,
                "quantity": o.quantity,
                "margin_mode": o.margin_mode,
                "client_order_id": o.client_order_id,
                "frozen": o.frozen,
            }
            for o in engine.account_open_orders(account.account_id)
        ]
        account_rows.append(
            {
                "account_id": account.account_id,
                "balance": account.holding,
                "orderly_keys": [
                    k.orderly_key for k in state.keys.values() if k.account_id == account.account_id
                ],
                "leverages": dict(account.leverages),
                "default_margin_modes": dict(account.default_modes),
                "positions": positions,
                "open_orders": open_orders,
            }
        )
    return {
        "timestamp": now,
        "clock_offset_ms": state.meta.clock_offset_ms,
        "accounts": account_rows,
        "marks": dict(state.market.marks),
        "market": {"frozen": state.market.frozen, "seed": state.market.seed},
        "faults": ctx.faults.config.to_json(),
        "rate_limits": ctx.limits_enforced(),
        "liquidations": list(state.liquidations),
    }


ROUTES: list[Route] = [
    Route("/sim/accounts", admin_endpoint(post_accounts), methods=["POST"]),
    Route("/sim/balance", admin_endpoint(post_balance), methods=["POST"]),
    Route("/sim/prices", admin_endpoint(post_prices), methods=["POST"]),
    Route("/sim/clock", admin_endpoint(post_clock), methods=["POST"]),
    Route("/sim/market", admin_endpoint(post_market), methods=["POST"]),
    Route("/sim/faults", admin_endpoint(post_faults), methods=["POST"]),
    Route("/sim/symbols", admin_endpoint(post_symbols), methods=["POST"]),
    Route("/sim/state", admin_endpoint(get_state, write=False), methods=["GET"]),
]

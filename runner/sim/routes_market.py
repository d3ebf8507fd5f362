"""Market-data and funding routes that third-party clients call (orderly-api.md §4.4, §4.6):
predicted funding rates, the account's funding-fee history and the order book.

They describe the simulator truthfully rather than imitate a busy exchange: funding is not
simulated, so every rate is 0 and no funding fee is ever paid; the book is the simulator's
only liquidity, one level a side at the price an immediate fill would get. This module must
never change state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from runner.sim import errors as e
from runner.sim import ratelimit as rl
from runner.sim.engine import Engine
from runner.sim.errors import SimError
from runner.sim.fills import taker_price
from runner.sim.model import BUY, SELL, ZERO
from runner.sim.numbers import parse_int
from runner.sim.routes_private import page_params, paginate
from runner.sim.web import Call, private_endpoint, public_endpoint

FUNDING_HISTORY_PAGE = 60


def funding_rate_row(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    """The row of GET /v1/public/funding_rate/{symbol}; the last funding was one period ago."""
    period_ms = engine.specs[symbol].funding_period * 3600 * 1000
    next_funding = (now // period_ms + 1) * period_ms
    return {
        "symbol": symbol,
        "est_funding_rate": ZERO,
        "est_funding_rate_timestamp": now,
        "last_funding_rate": ZERO,
        "last_funding_rate_timestamp": next_funding - period_ms,
        "next_funding_time": next_funding,
        "sum_unitary_funding": ZERO,
    }


def funding_rate(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    spec = engine.spec(request.path_params["symbol"])
    return funding_rate_row(engine, spec.symbol, now)


def funding_rates(engine: Engine, request: Request, now: int) -> dict[str, Any]:
    return {"rows": [funding_rate_row(engine, symbol, now) for symbol in engine.specs]}


def funding_fee_history(engine: Engine, call: Call) -> dict[str, Any]:
    """Validated like Orderly's, always empty: the simulator charges no funding."""
    p = call.params
    if p.get("symbol"):
        engine.spec(p["symbol"])
    for name in ("start_t", "end_t"):
        if p.get(name):
            parse_int(p[name], name)
    page, size = page_params(p, FUNDING_HISTORY_PAGE)
    rows, meta = paginate([], page, size)
    return {"meta": meta, "rows": rows}


def orderbook(engine: Engine, call: Call) -> dict[str, Any]:
    spec = engine.spec(call.path["symbol"])
    level = call.params.get("max_level")
    if level and parse_int(level, "max_level") < 1:
        raise SimError(e.INVALID_PARAM, "max_level must be at least 1")
    # an immediate order of any size up to base_max fills whole at the taker price
    return {
        "asks": [{"price": taker_price(engine, spec.symbol, BUY), "quantity": spec.base_max}],
        "bids": [{"price": taker_price(engine, spec.symbol, SELL), "quantity": spec.base_max}],
        "timestamp": call.now,
    }


ROUTES: list[Route] = [
    Route(
        "/v1/public/funding_rate/{symbol}",
        public_endpoint(funding_rate, rl.FUNDING_RATE),
        methods=["GET"],
    ),
    Route("/v1/public/funding_rates", public_endpoint(funding_rates, rl.PUBLIC), methods=["GET"]),
    Route(
        "/v1/funding_fee/history",
        private_endpoint(funding_fee_history, write=False, rule=rl.FUNDING_HISTORY),
        methods=["GET"],
    ),
    Route(
        "/v1/orderbook/{symbol}",
        private_endpoint(orderbook, write=False, rule=rl.ORDERBOOK),
        methods=["GET"],
    ),
]

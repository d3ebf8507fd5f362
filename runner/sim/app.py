"""The simulator's ASGI application: Orderly's routes, envelope and error codes.

create_app opens the store eagerly (httpx's ASGITransport never runs the lifespan) and puts
the engine on `app.state.sim`. Unknown paths and methods answer in Orderly's error envelope.
This module wires parts together: it must never hold exchange rules itself.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from runner.sim import errors as e
from runner.sim import routes_admin, routes_market, routes_private, routes_public
from runner.sim.engine import Engine
from runner.sim.errors import SimError
from runner.sim.faults import FaultConfig, Faults
from runner.sim.ratelimit import RateLimiter
from runner.sim.store import Store
from runner.sim.web import SimContext, error_response

DB_FILE = "exchange.sqlite3"


def create_app(
    *,
    state_dir: pathlib.Path | None,
    admin_token: str,
    seed: int = 0,
    clock: Callable[[], int] | None = None,
    rate_limits: bool = True,
) -> Starlette:
    """A simulator app; state in state_dir/exchange.sqlite3, or in memory when None."""
    if not admin_token:
        raise ValueError("admin_token must not be empty")
    path = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / DB_FILE
    engine = Engine(Store(path), seed=seed, clock=clock)
    saved = engine.state.meta.faults
    faults = Faults(FaultConfig(**saved) if saved else None)
    ctx = SimContext(
        engine=engine,
        faults=faults,
        limiter=RateLimiter(),
        admin_token=admin_token,
        rate_limits=rate_limits,
    )

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = (
            "not found"
            if status == 404
            else "method not allowed"
            if status == 405
            else ("internal server error")
        )
        code = e.UNKNOWN if status >= 500 or status == 404 else e.INVALID_PARAM
        return error_response(SimError(code, message, status), engine.now())

    app = Starlette(
        routes=[
            *routes_public.ROUTES,
            *routes_market.ROUTES,
            *routes_private.ROUTES,
            *routes_admin.ROUTES,
        ],
        exception_handlers={404: http_error, 405: http_error},
    )
    app.state.ctx = ctx
    app.state.sim = engine
    return app

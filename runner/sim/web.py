"""HTTP plumbing shared by the route modules: envelopes, raw request target, body parsing,
and the guard every /v1 request passes (faults, rate limits, authentication).

A lost response is marked with the DROP_HEADER on the way out; the transports (in-process
and uvicorn) turn it into a dropped connection. Handlers here never apply exchange rules.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runner.sim import errors as e
from runner.sim.auth import authenticate, require_scope
from runner.sim.engine import Engine
from runner.sim.errors import SimError
from runner.sim.faults import Faults
from runner.sim.model import Account
from runner.sim.numbers import encode_json
from runner.sim.ratelimit import RateLimiter, Rule

DROP_HEADER = "x-sim-drop-connection"
_NO_DATA = object()


@dataclass(slots=True)
class SimContext:
    """What every handler needs; stored on app.state.ctx."""

    engine: Engine
    faults: Faults
    limiter: RateLimiter
    admin_token: str
    rate_limits: bool

    def limits_enforced(self) -> bool:
        override = self.faults.config.rate_limit
        return self.rate_limits if override is None else override


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request as the engine operation sees it."""

    account: Account
    params: dict[str, Any]
    path: dict[str, str]
    now: int


def json_response(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        encode_json(payload), status_code=status, headers=headers, media_type="application/json"
    )


def ok(data: Any, now: int) -> Response:
    payload: dict[str, Any] = {"success": True, "timestamp": now}
    if data is not _NO_DATA:
        payload["data"] = data
    return json_response(payload)


def no_data() -> Any:
    """Marker for writes that answer without `data` (margin_mode, position_margin)."""
    return _NO_DATA


def error_response(exc: SimError, now: int, headers: dict[str, str] | None = None) -> Response:
    payload = {"success": False, "code": exc.code, "message": exc.message, "timestamp": now}
    return json_response(payload, exc.http_status, headers)


def request_target(request: Request) -> str:
    """path?query exactly as received (raw bytes, query order kept)."""
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    # some servers put the query into raw_path, ASGI says they should not
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    query: bytes = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise SimError(e.INVALID_PARAM, "request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SimError(e.INVALID_PARAM, "request body must be a JSON object")
    return body


def _identity(request: Request, rule: Rule) -> str:
    host = request.client.host if request.client else "unknown"
    if rule.per_ip:
        return host
    return request.headers.get("orderly-key") or host


async def guarded(
    request: Request, rule: Rule, handler: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Faults, then rate limits, then the handler; marks the reply lost when the draw says so."""
    ctx: SimContext = request.app.state.ctx
    draw = ctx.faults.draw()
    latency = ctx.faults.config.latency_ms
    if latency:
        await asyncio.sleep(latency / 1000)
    if draw.error_status is not None:
        exc = SimError(e.UNKNOWN, "internal server error", draw.error_status)
        return error_response(exc, ctx.engine.now())
    now = ctx.engine.now()
    wait_ms = 1 if draw.forced_429 else 0
    if not wait_ms and ctx.limits_enforced():
        wait_ms = ctx.limiter.check(rule, _identity(request, rule), now)
    if wait_ms:
        exc = SimError(e.TOO_MANY_REQUEST, "too many requests, slow down")
        retry = str(max(1, math.ceil(wait_ms / 1000)))
        return error_response(exc, now, {"Retry-After": retry})
    response = await handler(request)
    if draw.drop_response:
        response.headers[DROP_HEADER] = "1"
    return response


Operation = Callable[[Engine, Call], Any]


def private_endpoint(
    op: Operation, *, write: bool, rule: Rule, scope: str = "read"
) -> Callable[[Request], Awaitable[Response]]:
    """An authenticated /v1 route running `op` as one engine operation."""

    async def handle(request: Request) -> Response:
        ctx: SimContext = request.app.state.ctx
        engine = ctx.engine
        body = await request.body()
        method = request.method
        target = request_target(request)
        headers = request.headers
        path_params = dict(request.path_params)
        query = dict(request.query_params)

        def run(now: int) -> Any:
            key = authenticate(headers, method, target, body, now, engine.state.keys)
            require_scope(key, scope)
            params = parse_body(body) if method in ("POST", "PUT") else query
            account = engine.account(key.account_id)
            return op(engine, Call(account, params, path_params, now))

        try:
            data = engine.write(run) if write else engine.read(run)
        except SimError as exc:
            return error_response(exc, engine.now())
        return ok(data, engine.now())

    async def endpoint(request: Request) -> Response:
        return await guarded(request, rule, handle)

    return endpoint


def public_endpoint(
    op: Callable[[Engine, Request, int], Any], rule: Rule
) -> Callable[[Request], Awaitable[Response]]:
    """An unauthenticated /v1/public route; orderly-* headers are ignored."""

    async def handle(request: Request) -> Response:
        engine: Engine = request.app.state.ctx.engine
        try:
            data = engine.read(lambda now: op(engine, request, now))
        except SimError as exc:
            return error_response(exc, engine.now())
        return ok(data, engine.now())

    async def endpoint(request: Request) -> Response:
        return await guarded(request, rule, handle)

    return endpoint


def admin_endpoint(
    op: Callable[[SimContext, dict[str, Any], int], Any], *, write: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """A /sim route: Bearer admin token, never faulted or rate limited."""

    async def endpoint(request: Request) -> Response:
        ctx: SimContext = request.app.state.ctx
        engine = ctx.engine
        supplied = request.headers.get("authorization", "")
        expected = f"Bearer {ctx.admin_token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            exc = SimError(e.UNAUTHORIZED, "admin token required (Authorization: Bearer ...)")
            return error_response(exc, engine.now())
        try:
            raw = await request.body()
            params = (
                parse_body(raw) if request.method in ("POST", "PUT") else dict(request.query_params)
            )
            if write:
                data = engine.write(lambda now: op(ctx, params, now))
            else:
                data = engine.read(lambda now: op(ctx, params, now))
        except SimError as exc:
            return error_response(exc, engine.now())
        return ok(data, engine.now())

    return endpoint

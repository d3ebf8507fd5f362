"""The request core under OrderlyClient: budgets, signing, sending, envelope, retries.

One `Call` describes one endpoint call. `RequestCore.call()` waits for its budget, builds the
exact bytes (query in the given order, compact JSON body sent with `content=`), lets
`OrderlyAuth` sign those bytes, sends, turns the answer into data or a typed OrderlyError, and
retries as `RetryPolicy` allows. Every httpx exception is translated here: none leaves
runner.orderly. Errors carry the method, path, status, code and message, never headers.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from runner.errors import ConfigError
from runner.orderly.errors import (
    OrderlyError,
    OutcomeUnknown,
    ProtocolError,
    Unavailable,
    UsageError,
    classify,
)
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.retry import RetryPolicy
from runner.orderly.signing import OrderlyAuth
from runner.orderly.wire import build_query, encode_json, parse_json

_READ_METHODS = frozenset({"GET"})


@dataclass(frozen=True, slots=True)
class Call:
    """One endpoint call. `template` keys the budget; `path` is what is sent."""

    method: str
    template: str
    path: str
    query: tuple[tuple[str, object], ...] = ()
    body: object | None = None
    private: bool = True
    # Safe to send again after an unknown outcome (a cancel: a repeat finds the order gone).
    idempotent: bool = False
    # Orders in a batch: each counts toward the create-order budget.
    items: int = 1

    @property
    def is_read(self) -> bool:
        return self.method in _READ_METHODS


def _retry_after(response: httpx.Response, envelope: object) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date), else a `retry_after` field."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    if isinstance(envelope, dict):
        value = envelope.get("retry_after")
        if value is not None and not isinstance(value, bool):
            try:
                return max(0.0, float(str(value)))
            except ValueError:
                return None
    return None


def _code(value: object) -> int | None:
    """Orderly's error code as an int; a maintenance reply sends it as a string (§3.2)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


class RequestCore:
    """Sends calls for one account (or none, for public data) through one httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        auth: OrderlyAuth | None,
        rate_limiter: RateLimiter | None,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._auth = auth
        self._limiter = rate_limiter
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.request_count = 0

    async def call(self, call: Call) -> Any:
        """Send `call` (retrying as allowed) and return the envelope's `data` (maybe None)."""
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire(call.method, call.template, call.items)
            try:
                return await self._send_once(call)
            except OrderlyError as error:
                if not self._retry.should_retry(
                    error, attempt=attempt, is_read=call.is_read, idempotent=call.idempotent
                ):
                    raise
                window = None
                if self._limiter is not None:
                    budgets = self._limiter.budgets_for(call.method, call.template)
                    window = max((b.window for b in budgets), default=None)
                await self._sleep(self._retry.delay(error, attempt, window=window, rng=self._rng))

    def _build(self, call: Call) -> httpx.Request:
        query = build_query(call.query)
        target = f"{call.path}?{query}" if query else call.path
        try:
            if call.body is None:
                headers = {"content-type": "application/x-www-form-urlencoded"}
                return self._http.build_request(call.method, target, headers=headers)
            headers = {"content-type": "application/json"}
            content = encode_json(call.body)
            return self._http.build_request(call.method, target, content=content, headers=headers)
        except httpx.InvalidURL as exc:  # not an httpx.HTTPError: catch it by name
            raise UsageError(f"{call.method} {call.path}: invalid URL ({exc})") from None

    async def _send_once(self, call: Call) -> Any:
        method, path = call.method, call.path
        is_write = not call.is_read
        if call.private and self._auth is None:
            raise ConfigError(
                f"{method} {path} needs an account id and a secret; this client has none"
            )
        request = self._build(call)
        self.request_count += 1
        try:
            response = await self._http.send(request, auth=self._auth if call.private else None)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unavailable(method, path, None, None, _describe(exc)) from None
        except httpx.UnsupportedProtocol as exc:
            raise Unavailable(method, path, None, None, _describe(exc)) from None
        except httpx.ProxyError as exc:
            raise Unavailable(method, path, None, None, _describe(exc)) from None
        except httpx.HTTPError as exc:
            # Read/write timeouts, resets and truncated answers: the request left us and may
            # have been processed (the httpx tree separates these from connect errors).
            raise OutcomeUnknown(method, path, None, None, _describe(exc)) from None
        return self._parse(call, response, is_write=is_write)

    def _parse(self, call: Call, response: httpx.Response, *, is_write: bool) -> Any:
        method, path, status = call.method, call.path, response.status_code
        try:
            envelope = parse_json(response.content)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            if status >= 400:
                raise self._error(
                    call,
                    status,
                    None,
                    f"HTTP {status} without an Orderly body",
                    _retry_after(response, None),
                )
            # A write answered 2xx but unreadably may well have been carried out.
            cls = OutcomeUnknown if is_write else ProtocolError
            raise cls(method, path, status, None, "the response is not a JSON object")
        success = envelope.get("success")
        if success is True and status < 400:
            return envelope.get("data")
        if success is None and status < 400:
            cls = OutcomeUnknown if is_write else ProtocolError
            raise cls(method, path, status, None, "the response has no 'success' field")
        # success:false is an error whatever the HTTP status (the 0.2.9 connector returns
        # HTTP 400 bodies as data, §2.7; we must not).
        message = envelope.get("message")
        text = message if isinstance(message, str) else ""
        raise self._error(
            call, status, _code(envelope.get("code")), text, _retry_after(response, envelope)
        )

    @staticmethod
    def _error(
        call: Call, status: int, code: int | None, message: str, retry_after: float | None
    ) -> OrderlyError:
        return classify(
            call.method,
            call.path,
            status,
            code,
            message,
            is_write=not call.is_read,
            retry_after=retry_after,
        )


def _describe(exc: httpx.HTTPError) -> str:
    """The kind of network failure, without the request (and so without any header)."""
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {detail}"[:200] if detail else type(exc).__name__

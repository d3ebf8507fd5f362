"""Client-side request budgets, so that a large apply waits instead of hitting HTTP 429.

Orderly limits requests per endpoint (shared/orderly-api.md §3.4): some budgets are tight
(leverage updates 5 per 60 s, aggregate holding 1 per 60 s, client info 10 per 60 s). Each
(method, path template) draws from one or more named budgets; several endpoints that the docs
list in one row share one budget, which can only make us slower, never rejected. A sliding
window that never holds more than `limit` reservations also satisfies any fixed window the
server might use, and reservations are first come, first served.

The limiter only computes and sleeps. It never sends anything, and the clock and the sleep are
injectable so that tests run in no time. Share one limiter between clients that use the same
key or IP (per-IP budgets: public market data, GET /v1/client/leverage).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `limit` requests in any `window` seconds."""

    name: str
    limit: int
    window: float


@dataclass(frozen=True, slots=True)
class Wait:
    """A budget made a request wait: reported through `on_wait` before sleeping."""

    method: str
    path: str
    budget: Budget
    seconds: float


def _budgets(*items: Budget) -> dict[str, Budget]:
    return {budget.name: budget for budget in items}


DEFAULT_BUDGETS: Mapping[str, Budget] = _budgets(
    Budget("order-writes", 10, 1.0),
    Budget("batch-order", 1, 1.0),
    Budget("batch-cancel", 10, 1.0),
    Budget("order-reads", 10, 1.0),
    Budget("positions", 30, 10.0),
    Budget("account-info", 10, 1.0),
    Budget("position-margin", 10, 1.0),
    Budget("leverage-read", 1, 1.0),
    Budget("leverage-write", 5, 60.0),
    Budget("margin-mode", 10, 1.0),
    Budget("holding", 10, 1.0),
    Budget("aggregate", 1, 60.0),
    Budget("client-info", 10, 60.0),
    Budget("public", 10, 1.0),
)

# (method, path template) -> the budgets it draws from. A batch of n orders draws 1 from
# "batch-order" and n from "order-writes" (each order counts toward the create limit, §3.4).
DEFAULT_ROUTES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/order"): ("order-writes",),
    ("PUT", "/v1/order"): ("order-writes",),
    ("DELETE", "/v1/order"): ("order-writes",),
    ("DELETE", "/v1/client/order"): ("order-writes",),
    ("DELETE", "/v1/orders"): ("order-writes",),
    ("POST", "/v1/batch-order"): ("batch-order", "order-writes"),
    ("DELETE", "/v1/batch-order"): ("batch-cancel",),
    ("DELETE", "/v1/client/batch-order"): ("batch-cancel",),
    ("GET", "/v1/orders"): ("order-reads",),
    ("GET", "/v1/order/{order_id}"): ("order-reads",),
    ("GET", "/v1/client/order/{client_order_id}"): ("order-reads",),
    ("GET", "/v1/trades"): ("order-reads",),
    ("GET", "/v1/positions"): ("positions",),
    ("GET", "/v1/position/{symbol}"): ("positions",),
    ("GET", "/v1/account_info"): ("account-info",),
    ("GET", "/v1/position_history"): ("account-info",),
    ("POST", "/v1/position_margin"): ("position-margin",),
    ("GET", "/v1/client/leverage"): ("leverage-read",),
    ("POST", "/v1/client/leverages"): ("leverage-write",),
    ("POST", "/v1/client/leverage"): ("leverage-write",),
    ("POST", "/v1/client/margin_mode"): ("margin-mode",),
    ("GET", "/v1/client/margin_modes"): ("margin-mode",),
    ("GET", "/v1/client/holding"): ("holding",),
    ("GET", "/v1/client/aggregate/holding"): ("aggregate",),
    ("GET", "/v1/client/aggregate/positions"): ("aggregate",),
    ("GET", "/v1/client/info"): ("client-info",),
    ("GET", "/v1/public/info"): ("public",),
    ("GET", "/v1/public/info/{symbol}"): ("public",),
    ("GET", "/v1/public/futures"): ("public",),
    ("GET", "/v1/public/futures/{symbol}"): ("public",),
}

# Budgets that a batch charges once per item rather than once per request.
_PER_ITEM = frozenset({("POST", "/v1/batch-order", "order-writes")})

_PLACEHOLDER = re.compile(r"\{[^/]+\}")


class RateLimiter:
    """Sliding-window budgets keyed by (method, path template)."""

    def __init__(
        self,
        budgets: Mapping[str, Budget] = DEFAULT_BUDGETS,
        routes: Mapping[tuple[str, str], tuple[str, ...]] = DEFAULT_ROUTES,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_wait: Callable[[Wait], None] | None = None,
        slack: float = 0.05,
    ) -> None:
        unknown = {name for names in routes.values() for name in names} - set(budgets)
        if unknown:
            raise ValueError(f"routes name unknown budgets: {sorted(unknown)}")
        self._budgets = dict(budgets)
        self._routes = dict(routes)
        # Templates matched segment by segment, for callers that pass a concrete path.
        self._patterns = [
            (method, re.compile(_PLACEHOLDER.sub("[^/]+", template) + "$"), template)
            for (method, template) in routes
            if "{" in template
        ]
        self._clock = clock
        self._sleep = sleep
        self.on_wait = on_wait
        # Extra seconds on every window: absorbs network jitter between our clock and theirs.
        self._slack = slack
        self._reserved: dict[str, deque[float]] = {name: deque() for name in budgets}

    @classmethod
    def unlimited(cls) -> RateLimiter:
        """A limiter with no budgets (benchmarks, or a simulator without rate limits)."""
        return cls({}, {})

    def budgets_for(self, method: str, path: str) -> tuple[Budget, ...]:
        """The budgets a request to (method, path or template) draws from."""
        method = method.upper()
        path = path.split("?", 1)[0]
        names = self._routes.get((method, path))
        if names is None:
            for route_method, pattern, template in self._patterns:
                if route_method == method and pattern.match(path):
                    names = self._routes[(method, template)]
                    break
        return tuple(self._budgets[name] for name in names or ())

    def _template(self, method: str, path: str) -> str:
        path = path.split("?", 1)[0]
        if (method, path) in self._routes:
            return path
        for route_method, pattern, template in self._patterns:
            if route_method == method and pattern.match(path):
                return template
        return path

    def _reserve(self, method: str, path: str, items: int) -> tuple[float, Budget | None]:
        method = method.upper()
        template = self._template(method, path)
        budgets = self.budgets_for(method, template)
        if not budgets:
            return 0.0, None
        now = self._clock()
        start = now
        binding: Budget | None = None
        weights: list[tuple[Budget, int]] = []
        for budget in budgets:
            weight = items if (method, template, budget.name) in _PER_ITEM else 1
            weight = max(1, min(weight, budget.limit))
            weights.append((budget, weight))
            window = budget.window + self._slack
            times = self._reserved[budget.name]
            while times and times[0] <= now - window:
                times.popleft()
            earliest = times[-1] if times else now  # first come, first served
            allowed_before = budget.limit - weight  # reservations that may share the window
            if len(times) > allowed_before:
                earliest = max(earliest, times[len(times) - allowed_before - 1] + window)
            if earliest > start:
                start, binding = earliest, budget
        for budget, weight in weights:
            self._reserved[budget.name].extend([start] * weight)
        return start - now, binding

    def reserve(self, method: str, path: str, items: int = 1) -> float:
        """Book the next slot for one request and return how many seconds to wait for it.

        `items` is the number of orders in a batch. The slot is booked even if the caller then
        gives up, which can only make later requests wait longer, never be rejected.
        """
        return self._reserve(method, path, items)[0]

    async def acquire(self, method: str, path: str, items: int = 1) -> float:
        """Wait until the request may be sent; report the wait through `on_wait` first."""
        seconds, budget = self._reserve(method, path, items)
        if seconds > 0 and budget is not None:
            if self.on_wait is not None:
                self.on_wait(Wait(method.upper(), path, budget, seconds))
            await self._sleep(seconds)
        return seconds

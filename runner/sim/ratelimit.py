"""Orderly's rate limits (orderly-api.md §3.4), enforced per key or per IP on the sim clock.

A sliding window per (rule, identity). The 429 reply carries code -1003 and a Retry-After
header (Orderly's own headers are unconfirmed; the header is harmless to every client). This
module must never look at request contents beyond the identity it is given.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    limit: int
    window_ms: int
    per_ip: bool = False


ORDER_WRITE = Rule("order-write", 10, 1000)
BATCH_CREATE = Rule("batch-create", 1, 1000)
BATCH_CANCEL = Rule("batch-cancel", 10, 1000)
ORDER_READ = Rule("order-read", 10, 1000)
POSITIONS = Rule("positions", 30, 10_000)
POSITIONS_LITE = Rule("positions-lite", 10, 1000)
ACCOUNT_INFO = Rule("account-info", 10, 1000)
POSITION_MARGIN = Rule("position-margin", 10, 1000)
LEVERAGE_READ = Rule("leverage-read", 1, 1000, per_ip=True)
LEVERAGES_READ = Rule("leverages-read", 10, 1000)
LEVERAGE_WRITE = Rule("leverage-write", 5, 60_000)
MARGIN_MODE = Rule("margin-mode", 10, 1000)
HOLDING = Rule("holding", 10, 1000)
AGGREGATE = Rule("aggregate", 1, 60_000)
CLIENT_INFO = Rule("client-info", 10, 60_000)
PUBLIC = Rule("public", 10, 1000, per_ip=True)
SYSTEM_INFO = Rule("system-info", 1, 1000, per_ip=True)
FUNDING_RATE = Rule("funding-rate", 30, 1000, per_ip=True)
FUNDING_HISTORY = Rule("funding-history", 20, 60_000)
ORDERBOOK = Rule("orderbook", 10, 1000)


class RateLimiter:
    """Sliding-window counters; `check` returns 0 when allowed, else ms until a slot frees."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[int]] = {}

    def check(self, rule: Rule, identity: str, now_ms: int) -> int:
        hits = self._hits.setdefault((rule.name, identity), deque())
        horizon = now_ms - rule.window_ms
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= rule.limit:
            return max(1, hits[0] + rule.window_ms - now_ms)
        hits.append(now_ms)
        return 0

    def reset(self) -> None:
        self._hits.clear()

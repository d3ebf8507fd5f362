"""Client-side budgets keep a burst under the exchange's limits: the client waits (and says
so) instead of being refused. The simulator enforces the limits on its own clock, which the
injected sleep moves forward together with the client's clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runner.enums import MarginMode
from runner.orderly.client import OrderlyClient
from runner.orderly.ratelimit import RateLimiter, Wait

from .conftest import ETH


class SharedClock:
    """One clock for the client's budgets, its signatures and the simulator."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.offset = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return 1_000.0 + self.offset

    def wall(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds
        await self.admin.advance_clock(int(seconds * 1000) + 1)


async def test_leverage_budget_makes_the_sixth_update_wait_a_minute_not_fail(
    make_client: Callable[..., OrderlyClient], admin: Any
) -> None:
    await admin.set_faults(rate_limit=True)  # the simulator now enforces §3.4
    clock = SharedClock(admin)
    waits: list[Wait] = []
    limiter = RateLimiter(clock=clock.monotonic, sleep=clock.sleep, on_wait=waits.append)
    async with make_client(rate_limiter=limiter, sleep=clock.sleep, clock=clock.wall) as client:
        for leverage in range(2, 8):
            await client.set_leverage(leverage, ETH, MarginMode.ISOLATED)
        assert client.request_count == 6  # no 429, no retry
        assert (await client.get_leverage(ETH, MarginMode.ISOLATED)).leverage == 7
    assert [w.budget.name for w in waits] == ["leverage-write"]
    assert 60.0 <= waits[0].seconds <= 60.1
    assert clock.slept == [waits[0].seconds]


async def test_without_budgets_the_same_burst_is_refused_and_retried(
    make_client: Callable[..., OrderlyClient], admin: Any
) -> None:
    await admin.set_faults(rate_limit=True)
    clock = SharedClock(admin)
    async with make_client(sleep=clock.sleep, clock=clock.wall) as client:  # no budgets
        for leverage in range(2, 8):
            await client.set_leverage(leverage, ETH, MarginMode.ISOLATED)
        assert client.request_count == 7  # the sixth was refused (429) once, then resent
    assert len(clock.slept) == 1 and clock.slept[0] >= 59  # it honoured Retry-After


async def test_public_reads_are_paced_to_ten_per_second(
    make_client: Callable[..., OrderlyClient], admin: Any
) -> None:
    await admin.set_faults(rate_limit=True)
    clock = SharedClock(admin)
    waits: list[Wait] = []
    limiter = RateLimiter(clock=clock.monotonic, sleep=clock.sleep, on_wait=waits.append)
    async with make_client(rate_limiter=limiter, sleep=clock.sleep, clock=clock.wall) as client:
        for _ in range(25):
            await client.get_future(ETH)
        assert client.request_count == 25
    assert [w.budget.name for w in waits] == ["public", "public"]
    assert sum(clock.slept) >= 2.0

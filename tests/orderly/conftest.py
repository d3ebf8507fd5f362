"""Fixtures of the client tests: a frozen simulator market, a funded account, a client whose
sleeps are recorded (and can run a step in between, e.g. clear an injected fault)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from runner.orderly.client import OrderlyClient
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer

BASE_URL = "http://sim.test"
ETH = "PERP_ETH_USDC"
BTC = "PERP_BTC_USDC"
ETH_MARK = Decimal(3000)
BTC_MARK = Decimal(60000)


class Sleeper:
    """An injectable sleep that returns at once, records each delay, and runs the next queued
    step (if any) as the "something happened meanwhile"."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.steps: list[Callable[[], Awaitable[Any]]] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.steps:
            await self.steps.pop(0)()


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
async def account(admin: Any) -> tuple[str, str, str]:
    """A fresh account with 10,000 USDC on a market that moves only when told."""
    await admin.freeze_market(True)
    await admin.set_price(ETH, ETH_MARK)
    await admin.set_price(BTC, BTC_MARK)
    result: tuple[str, str, str] = await admin.create_account(Decimal(10000))
    return result


@pytest.fixture
def make_client(
    sim_transport: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> Callable[..., OrderlyClient]:
    """Build clients for the fresh account (overridable), closed by the test's `async with`."""

    def build(**overrides: Any) -> OrderlyClient:
        options: dict[str, Any] = {
            "account_id": account[0],
            "signer": Signer(account[1]),
            "transport": sim_transport,
            "sleep": sleeper,
            "rate_limiter": RateLimiter.unlimited(),
            "rng": random.Random(7),
        }
        options.update(overrides)
        return OrderlyClient(BASE_URL, **options)

    return build


@pytest.fixture
async def client(make_client: Callable[..., OrderlyClient]) -> AsyncIterator[OrderlyClient]:
    async with make_client() as opened:
        yield opened


def open_orders(state: dict[str, Any], account_id: str) -> list[dict[str, Any]]:
    """The open orders of one account in the simulator's own state."""
    for row in state["accounts"]:
        if row["account_id"] == account_id:
            orders: list[dict[str, Any]] = row["open_orders"]
            return orders
    raise AssertionError(f"no account {account_id} in the simulator")

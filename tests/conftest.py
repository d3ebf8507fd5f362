"""Shared fixtures: an in-process simulator and an admin helper to drive it.

Every test that talks HTTP talks to the project's simulator: `sim_app` (fresh state under
tmp_path, rate limits off), `sim_transport` (httpx transport to it) and `admin` (accounts,
prices, clock, faults, state through the /sim admin routes).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport

SIM_ADMIN_TOKEN = "test-admin-token"
SIM_BASE_URL = "http://sim.test"


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class SimAdmin:
    """Async helper over the simulator's /sim admin routes."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body or {}, default=_json_default).encode()
        response = await self.client.request(
            method,
            path,
            content=content if method == "POST" else None,
            headers={"Authorization": f"Bearer {SIM_ADMIN_TOKEN}"},
        )
        payload = json.loads(response.content, parse_float=Decimal)
        if response.status_code != 200 or not payload.get("success"):
            raise AssertionError(f"{method} {path} failed: {response.status_code} {payload}")
        return payload.get("data")

    async def create_account(self, balance: Decimal = Decimal("10000")) -> tuple[str, str, str]:
        """A funded account with a fresh key: (account_id, secret, orderly_key)."""
        data = await self.call("POST", "/sim/accounts", {"balance": balance})
        return data["account_id"], data["secret"], data["orderly_key"]

    async def register_key(self, account_id: str, orderly_key: str) -> None:
        await self.call(
            "POST", "/sim/accounts", {"account_id": account_id, "orderly_key": orderly_key}
        )

    async def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        await self.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": Decimal(price)})

    async def advance_clock(self, ms: int) -> None:
        await self.call("POST", "/sim/clock", {"advance_ms": ms})

    async def set_faults(self, **kw: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/sim/faults", kw)
        return result

    async def set_balance(self, account_id: str, balance: Decimal) -> None:
        await self.call("POST", "/sim/balance", {"account_id": account_id, "balance": balance})

    async def freeze_market(self, frozen: bool = True) -> None:
        await self.call("POST", "/sim/market", {"frozen": frozen})

    async def add_symbols(self, count: int) -> None:
        await self.call("POST", "/sim/symbols", {"count": count})

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/sim/state")
        return result


@pytest.fixture
def sim_app(tmp_path: Path) -> Starlette:
    """A fresh simulator with its state under tmp_path, rate limits off."""
    return create_app(state_dir=tmp_path / "sim", admin_token=SIM_ADMIN_TOKEN, rate_limits=False)


@pytest.fixture
def sim_transport(sim_app: Starlette) -> InProcessTransport:
    return InProcessTransport(sim_app)


@pytest.fixture
async def admin(sim_transport: InProcessTransport) -> AsyncIterator[SimAdmin]:
    async with httpx.AsyncClient(transport=sim_transport, base_url=SIM_BASE_URL) as client:
        yield SimAdmin(client)

"""Fixtures of the simulator's own tests: a frozen market and a funded, signed trader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sim_client import SignedClient

from runner.sim.transport import InProcessTransport


@pytest.fixture
async def market(admin: Any) -> Any:
    """The admin helper with the random walk frozen, so marks move only when told."""
    await admin.freeze_market(True)
    # the walk may have taken a step before the freeze: pin the marks the tests rely on
    await admin.set_price("PERP_ETH_USDC", 3000)
    await admin.set_price("PERP_BTC_USDC", 95000)
    return admin


@pytest.fixture
async def trader(market: Any, sim_transport: InProcessTransport) -> AsyncIterator[SignedClient]:
    """A signed client for a fresh account holding 10,000 USDC."""
    account_id, secret, key = await market.create_account(Decimal(10000))
    async with httpx.AsyncClient(transport=sim_transport, base_url="http://sim.test") as client:
        yield SignedClient(client, account_id, secret, key)

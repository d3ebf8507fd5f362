"""Fixtures of the reconcile tests: a Reconciler wired to the in-process simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runner.journal import Journal
from runner.orderly.client import OrderlyClient
from runner.orderly.signing import Signer
from runner.reconcile.run import Exchange, Reconciler

BASE_URL = "http://sim.test"
MARKS = {
    "PERP_ETH_USDC": Decimal(3000),
    "PERP_BTC_USDC": Decimal(95000),
    "PERP_SOL_USDC": Decimal(150),
}


class Harness:
    """One funded account on a frozen simulator market, and a way to reconcile it."""

    def __init__(self, admin: Any, transport: Any, state_dir: Path, account: tuple[str, str]):
        self.admin = admin
        self.transport = transport
        self.state_dir = state_dir
        self.account_id, self.secret = account
        self.journal = Journal.open(state_dir)
        self.clients: list[OrderlyClient] = []

    def client(self) -> OrderlyClient:
        client = OrderlyClient(
            BASE_URL,
            account_id=self.account_id,
            signer=Signer(self.secret),
            transport=self.transport,
        )
        self.clients.append(client)
        return client

    def reconciler(self, progress: Callable[[str], None] | None = None) -> Reconciler:
        exchange = Exchange(
            client=self.client(),
            account_id=self.account_id,
            network="sim",
            simulated=True,
            description="simulator (test)",
            base_url=BASE_URL,
        )
        return Reconciler(exchange, self.journal, state_dir=self.state_dir, progress=progress)

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.journal.close()


@pytest.fixture
async def harness(admin: Any, sim_transport: Any, tmp_path: Path) -> AsyncIterator[Harness]:
    await admin.freeze_market(True)
    for symbol, mark in MARKS.items():
        await admin.set_price(symbol, mark)
    account_id, secret, _key = await admin.create_account(Decimal(10000))
    h = Harness(admin, sim_transport, tmp_path / "state", (account_id, secret))
    yield h
    await h.close()

"""The planner's margin maths agrees with the exchange's own est_liq_price (to 0.01%)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from runner.enums import MarginAdjustment, MarginMode, OrderType, Side
from runner.orderly.client import OrderlyClient
from runner.orderly.orders import OrderRequest
from runner.orderly.signing import Signer
from runner.reconcile.margin import SymbolRisk, isolated_liq_price

CASES = [
    ("PERP_ETH_USDC", Side.BUY, Decimal("1"), 10, Decimal(0)),
    ("PERP_ETH_USDC", Side.SELL, Decimal("0.5"), 5, Decimal(0)),
    ("PERP_BTC_USDC", Side.BUY, Decimal("0.02"), 20, Decimal(50)),
    ("PERP_SOL_USDC", Side.SELL, Decimal("10"), 3, Decimal(25)),
    ("PERP_ETH_USDC", Side.BUY, Decimal("30"), 10, Decimal(500)),  # large: imr_factor term
]


@pytest.mark.parametrize(("symbol", "side", "qty", "leverage", "added"), CASES)
async def test_isolated_liq_price_matches_the_simulator(
    admin: Any,
    sim_transport: Any,
    symbol: str,
    side: Side,
    qty: Decimal,
    leverage: int,
    added: Decimal,
) -> None:
    await admin.freeze_market(True)
    await admin.set_price("PERP_ETH_USDC", 3000)
    await admin.set_price("PERP_BTC_USDC", 95000)
    await admin.set_price("PERP_SOL_USDC", 150)
    account_id, secret, _ = await admin.create_account(Decimal(200000))
    async with OrderlyClient(
        "http://sim.test", account_id=account_id, signer=Signer(secret), transport=sim_transport
    ) as client:
        await client.set_leverage(leverage, symbol, MarginMode.ISOLATED)
        await client.create_order(
            OrderRequest(symbol, OrderType.MARKET, side, qty, margin_mode=MarginMode.ISOLATED)
        )
        if added:
            await client.adjust_position_margin(symbol, added, MarginAdjustment.ADD)
        info = await client.get_symbol(symbol)
        position = await client.get_position(symbol, MarginMode.ISOLATED)
    assert position.position_qty != 0
    ours = isolated_liq_price(
        qty=position.position_qty,
        cost_position=position.cost_position,
        margin=position.margin,
        risk=SymbolRisk(info.base_imr, info.base_mmr, info.imr_factor or Decimal(0)),
        mark=position.mark_price,
    )
    assert ours is not None
    theirs = position.est_liq_price
    assert abs(ours - theirs) / theirs <= Decimal("0.0001"), (ours, theirs)

"""Property: liquidating an isolated position never touches any other position, and the
account's holding changes by no more than that position's margin (it never goes down)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.sim import accounts, market, orders
from runner.sim.engine import Engine
from runner.sim.margin import isolated_liq_price
from runner.sim.store import Store

T0 = 1_750_000_000_000
ETH, BTC, SOL = "PERP_ETH_USDC", "PERP_BTC_USDC", "PERP_SOL_USDC"


def _engine() -> Engine:
    engine = Engine(Store(None), seed=0, clock=lambda: T0)
    engine.state.market.frozen = True
    return engine


def _snapshot(engine: Engine, account_id: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (p.symbol, p.margin_mode): (p.qty, p.cost_position, p.margin, p.average_open_price)
        for p in engine.account_positions(account_id)
        if p.qty != 0
    }


@settings(max_examples=40, deadline=None)
@given(
    side=st.sampled_from(["BUY", "SELL"]),
    leverage=st.integers(min_value=2, max_value=50),
    eth_qty=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("3"), places=1),
    btc_qty=st.decimals(min_value=Decimal("-0.05"), max_value=Decimal("0.05"), places=3),
    sol_iso_qty=st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=1),
    beyond_ticks=st.integers(min_value=1, max_value=500),
)
def test_isolated_liquidation_is_contained(
    side: str,
    leverage: int,
    eth_qty: Decimal,
    btc_qty: Decimal,
    sol_iso_qty: Decimal,
    beyond_ticks: int,
) -> None:
    engine = _engine()

    def setup(now: int) -> str:
        account = accounts.create_account(engine, None, Decimal(100000), now)
        account.leverages[f"{ETH}|ISOLATED"] = leverage
        body = {
            "symbol": ETH,
            "order_type": "MARKET",
            "side": side,
            "order_quantity": eth_qty,
            "margin_mode": "ISOLATED",
        }
        orders.place_order(engine, account, body, now)
        if btc_qty != 0:
            orders.place_order(
                engine,
                account,
                {
                    "symbol": BTC,
                    "order_type": "MARKET",
                    "side": "BUY" if btc_qty > 0 else "SELL",
                    "order_quantity": abs(btc_qty),
                },
                now,
            )
        if sol_iso_qty != 0:
            orders.place_order(
                engine,
                account,
                {
                    "symbol": SOL,
                    "order_type": "MARKET",
                    "side": "BUY",
                    "order_quantity": sol_iso_qty,
                    "margin_mode": "ISOLATED",
                },
                now,
            )
        # a resting isolated order the move does not cross (it must be cancelled)
        orders.place_order(
            engine,
            account,
            {
                "symbol": ETH,
                "order_type": "LIMIT",
                "margin_mode": "ISOLATED",
                "side": "SELL" if side == "BUY" else "BUY",
                "order_quantity": Decimal("0.1"),
                "order_price": Decimal(3050) if side == "BUY" else Decimal(2950),
            },
            now,
        )
        return account.account_id

    account_id = engine.write(setup)
    position = engine.position(account_id, ETH, "ISOLATED")
    assert position is not None
    spec = engine.specs[ETH]
    liq = isolated_liq_price(position, engine.mark(ETH), spec)
    assert liq is not None
    tick = spec.quote_tick
    if side == "BUY":
        target = (liq / tick).to_integral_value(ROUND_FLOOR) * tick - beyond_ticks * tick
    else:
        target = (liq / tick).to_integral_value(ROUND_CEILING) * tick + beyond_ticks * tick
    target = max(target, tick)
    others_before = {k: v for k, v in _snapshot(engine, account_id).items() if k[0] != ETH}
    holding_before = engine.account(account_id).holding
    margin = position.margin

    def move(now: int) -> None:
        market.set_mark(engine.state.market, spec, target)
        engine.on_marks_changed([ETH], now)

    engine.write(move)
    after = _snapshot(engine, account_id)
    assert (ETH, "ISOLATED") not in after
    assert {k: v for k, v in after.items() if k[0] != ETH} == others_before
    holding_after = engine.account(account_id).holding
    assert holding_before <= holding_after <= holding_before + margin
    assert not any(o.symbol == ETH for o in engine.account_open_orders(account_id))

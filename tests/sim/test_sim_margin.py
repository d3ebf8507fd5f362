"""Margin maths and isolated-margin rules: §5 formulas on worked numbers, order reservation,
position_margin bounds, leverage and margin-mode preconditions, liquidation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sim_client import SignedClient

from runner.sim.margin import imr, isolated_liq_price, max_notional_for_leverage, mmr
from runner.sim.model import Position
from runner.sim.symbols import load_symbols

ETH = "PERP_ETH_USDC"
D = Decimal


def _iso(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": ETH,
        "order_type": "MARKET",
        "side": "BUY",
        "order_quantity": 1,
        "margin_mode": "ISOLATED",
    }
    body.update(kw)
    return body


def test_isolated_liq_price_matches_the_sdk_example() -> None:
    spec = load_symbols()[ETH]
    spec = type(spec)(
        **{
            **{f: getattr(spec, f) for f in spec.__dataclass_fields__},
            "base_mmr": D("0.025"),
            "imr_factor": D("0"),
        }
    )
    position = Position("a", ETH, "ISOLATED", D(2), D(100000), D(50000), D(2000), D(0), D(0), 0, 0)
    liq = isolated_liq_price(position, D(50000), spec)
    assert liq is not None and abs(liq - D("50256.41")) < D("0.01")


def test_imr_and_mmr_follow_the_published_formulas() -> None:
    btc = load_symbols()["PERP_BTC_USDC"]
    assert imr(btc, D(1000), 10) == D("0.1")
    assert imr(btc, D(1000), 100) == D("0.01")
    big = D(10_000_000)
    assert imr(btc, big, 100) == btc.imr_factor * big ** D("0.8")
    assert mmr(btc, D(1000)) == D("0.006")
    assert max_notional_for_leverage(btc, 10) == btc.max_notional


async def test_isolated_fill_takes_notional_over_leverage(trader: SignedClient) -> None:
    await trader.post("/v1/order", _iso())
    (pos,) = (await trader.get("/v1/positions")).data["rows"]
    assert pos["margin_mode"] == "ISOLATED" and pos["margin"] == D("300.15")  # 3001.5 / 10
    holding = (await trader.get("/v1/client/holding")).data["holding"][0]
    assert holding["holding"] == D("9699.85") and holding["isolated_margin"] == D("300.15")
    expected = (pos["margin"] - pos["cost_position"]) / (D(1) * pos["mmr"] - D(1))
    assert abs(pos["est_liq_price"] - expected) < D("0.0001")


async def test_pending_isolated_order_freezes_margin_with_the_fee_buffer(
    trader: SignedClient,
) -> None:
    await trader.post("/v1/order", _iso(order_type="LIMIT", order_price=2500))
    holding = (await trader.get("/v1/client/holding")).data["holding"][0]
    assert holding["isolated_order_frozen"] == D("2500") * (D("0.1") + D("0.0006"))
    assert holding["holding"] == 10000
    await trader.delete("/v1/orders")
    holding = (await trader.get("/v1/client/holding")).data["holding"][0]
    assert holding["isolated_order_frozen"] == 0


async def test_isolated_order_beyond_available_balance_is_refused(trader: SignedClient) -> None:
    reply = await trader.post(
        "/v1/order", _iso(order_type="LIMIT", order_price=2500, order_quantity=40)
    )
    assert (reply.status, reply.code) == (400, -1101)


async def test_position_margin_add_and_reduce_within_bounds(trader: SignedClient) -> None:
    no_position = await trader.post(
        "/v1/position_margin", {"symbol": ETH, "amount": "10", "type": "ADD"}
    )
    assert (no_position.status, no_position.code) == (400, -1006)
    await trader.post("/v1/order", _iso())
    added = await trader.post(
        "/v1/position_margin", {"symbol": ETH, "amount": "100", "type": "ADD"}
    )
    assert added.body == {"success": True, "timestamp": added.body["timestamp"]}
    (pos,) = (await trader.get("/v1/positions")).data["rows"]
    assert pos["margin"] == D("400.15")
    too_much = await trader.post(
        "/v1/position_margin", {"symbol": ETH, "amount": 20000, "type": "ADD"}
    )
    assert too_much.code == -1101
    # max_reduce = margin − notional × imr + min(0, upnl) = 400.15 − 300 − 3.00075
    over = await trader.post(
        "/v1/position_margin", {"symbol": ETH, "amount": "97.2", "type": "REDUCE"}
    )
    assert over.code == -1101
    ok = await trader.post(
        "/v1/position_margin", {"symbol": ETH, "amount": "97.1", "type": "REDUCE"}
    )
    assert ok.body["success"]


async def test_margin_mode_switch_refused_with_open_position(trader: SignedClient) -> None:
    await trader.post(
        "/v1/order", {"symbol": ETH, "order_type": "MARKET", "side": "BUY", "order_quantity": 1}
    )
    reply = await trader.post(
        "/v1/client/margin_mode", {"symbol": ETH, "default_margin_mode": "ISOLATED"}
    )
    assert (reply.status, reply.code) == (400, -1012)
    other = await trader.post(
        "/v1/client/margin_mode", {"symbol": "PERP_SOL_USDC", "default_margin_mode": "ISOLATED"}
    )
    assert other.body["success"]


async def test_isolated_leverage_change_refused_with_pending_isolated_order(
    trader: SignedClient,
) -> None:
    await trader.post("/v1/order", _iso(order_type="LIMIT", order_price=2500))
    single = await trader.post(
        "/v1/client/leverages", {"leverage": 5, "symbol": ETH, "margin_mode": "ISOLATED"}
    )
    assert single.code == -1012
    batch = await trader.post("/v1/client/leverages", {"leverage": 5, "margin_mode": "ISOLATED"})
    assert batch.body["success"]
    rows = (await trader.get("/v1/client/leverages")).data["rows"]
    iso = {r["symbol"]: r["leverage"] for r in rows if r["margin_mode"] == "ISOLATED"}
    assert iso[ETH] == 10 and iso["PERP_BTC_USDC"] == 5


async def test_cross_batch_leverage_is_atomic(trader: SignedClient) -> None:
    await trader.post(
        "/v1/order", {"symbol": ETH, "order_type": "MARKET", "side": "BUY", "order_quantity": 30}
    )  # 90k notional on 10k at 10x
    reply = await trader.post("/v1/client/leverages", {"leverage": 1})
    assert reply.code == -1101
    rows = (await trader.get("/v1/client/leverages")).data["rows"]
    assert all(
        r["leverage"] == 10
        for r in rows
        if r["margin_mode"] == "CROSS" and r["symbol"] in (ETH, "PERP_BTC_USDC")
    )


async def test_isolated_liquidation_loses_only_that_margin(
    trader: SignedClient, market: Any
) -> None:
    await trader.post(
        "/v1/order",
        {
            "symbol": "PERP_BTC_USDC",
            "order_type": "MARKET",
            "side": "BUY",
            "order_quantity": "0.01",
        },
    )
    await trader.post("/v1/order", _iso(side="SELL"))
    await trader.post(
        "/v1/order", _iso(order_type="LIMIT", order_price=2500, client_order_id="iso-dip")
    )
    before = (await trader.get("/v1/positions")).data["rows"]
    cross_before = next(r for r in before if r["margin_mode"] == "CROSS")
    iso = next(r for r in before if r["margin_mode"] == "ISOLATED")
    holding_before = (await trader.get("/v1/client/holding")).data["holding"][0]["holding"]
    await market.set_price(ETH, iso["est_liq_price"] + 1)
    after = (await trader.get("/v1/positions")).data["rows"]
    assert [r["symbol"] for r in after] == ["PERP_BTC_USDC"]
    assert after[0]["position_qty"] == cross_before["position_qty"]
    assert after[0]["cost_position"] == cross_before["cost_position"]
    holding_after = (await trader.get("/v1/client/holding")).data["holding"][0]
    assert holding_before <= holding_after["holding"] <= holding_before + iso["margin"]
    assert holding_after["isolated_margin"] == 0 and holding_after["isolated_order_frozen"] == 0
    coid = (await trader.get("/v1/client/order/iso-dip")).data
    assert coid["status"] == "CANCELLED"
    state = await market.state()
    assert state["liquidations"][-1]["margin_mode"] == "ISOLATED"


async def test_cross_liquidation_closes_cross_positions_only(
    trader: SignedClient, market: Any
) -> None:
    await trader.post(
        "/v1/order", {"symbol": ETH, "order_type": "MARKET", "side": "BUY", "order_quantity": 30}
    )
    await trader.post("/v1/order", _iso(symbol="PERP_BTC_USDC", side="SELL", order_quantity="0.01"))
    await market.set_price(ETH, 2650)  # collateral ≈ 9905 − 9.6k < MM ≈ 477
    rows = (await trader.get("/v1/positions")).data["rows"]
    assert [(r["symbol"], r["margin_mode"]) for r in rows] == [("PERP_BTC_USDC", "ISOLATED")]
    assert (await market.state())["liquidations"][-1]["margin_mode"] == "CROSS"

"""Conformance of the simulator's /v1 routes in-process: paths, envelopes, field names,
pagination, error codes and HTTP statuses as in orderly-api.md §3-§4."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sim_client import SignedClient

ETH = "PERP_ETH_USDC"
BTC = "PERP_BTC_USDC"


def _order(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": ETH,
        "order_type": "LIMIT",
        "side": "BUY",
        "order_price": 2900,
        "order_quantity": 1,
    }
    body.update(kw)
    return body


async def test_public_info_lists_symbols_with_orderly_fields(trader: SignedClient) -> None:
    rows = (await trader.get("/v1/public/info")).data["rows"]
    assert len(rows) >= 10
    btc = next(r for r in rows if r["symbol"] == BTC)
    for field in (
        "quote_min",
        "quote_max",
        "quote_tick",
        "base_min",
        "base_max",
        "base_tick",
        "min_notional",
        "price_range",
        "price_scope",
        "base_imr",
        "base_mmr",
        "imr_factor",
        "created_time",
        "std_liquidation_fee",
        "funding_period",
    ):
        assert field in btc
    assert btc["price_range"] == Decimal("0.03") and btc["price_scope"] == Decimal("0.4")
    one = (await trader.get(f"/v1/public/info/{BTC}")).data
    assert one == btc


async def test_public_futures_symbol_is_a_flat_object_with_the_mark(trader: SignedClient) -> None:
    data = (await trader.get(f"/v1/public/futures/{ETH}")).data
    assert data["symbol"] == ETH and data["mark_price"] == 3000
    rows = (await trader.get("/v1/public/futures")).data["rows"]
    assert {r["symbol"] for r in rows} >= {ETH, BTC}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/public/token", "rows"),
        ("/v1/public/chain_info", "rows"),
        ("/v1/public/system_info", "status"),
        ("/v1/public/leverage", "max_futures_leverage"),
        ("/v1/public/config", "available_futures_leverage"),
    ],
)
async def test_public_reference_routes_answer(trader: SignedClient, path: str, key: str) -> None:
    assert key in (await trader.get(path)).data


async def test_unknown_symbol_is_invalid_param(trader: SignedClient) -> None:
    reply = await trader.get("/v1/public/info/PERP_NOPE_USDC")
    assert (reply.status, reply.code) == (400, -1005)


async def test_unknown_route_answers_in_the_error_envelope(trader: SignedClient) -> None:
    reply = await trader.get("/v1/nowhere")
    assert reply.status == 404 and reply.body["success"] is False


async def test_leverage_defaults_and_updates_per_symbol_and_mode(trader: SignedClient) -> None:
    got = (await trader.get("/v1/client/leverage", symbol=ETH)).data
    assert got == {"symbol": ETH, "margin_mode": "CROSS", "leverage": 10}
    set_ = await trader.post(
        "/v1/client/leverages", {"leverage": 20, "symbol": ETH, "margin_mode": "ISOLATED"}
    )
    assert set_.data == {"symbol": ETH, "margin_mode": "ISOLATED", "leverage": 20}
    iso = (await trader.get("/v1/client/leverage", symbol=ETH, margin_mode="ISOLATED")).data
    assert iso["leverage"] == 20
    assert (await trader.get("/v1/client/leverage", symbol=ETH)).data["leverage"] == 10
    rows = (await trader.get("/v1/client/leverages")).data["rows"]
    assert {"symbol": ETH, "margin_mode": "ISOLATED", "leverage": 20} in rows


async def test_leverage_above_symbol_maximum_is_refused(trader: SignedClient) -> None:
    reply = await trader.post("/v1/client/leverages", {"leverage": 60, "symbol": "PERP_BNB_USDC"})
    assert (reply.status, reply.code) == (400, -1005)
    reply = await trader.post("/v1/client/leverages", {"leverage": 101})
    assert reply.code == -1005


async def test_batch_leverage_caps_each_symbol_at_its_maximum(trader: SignedClient) -> None:
    assert (await trader.post("/v1/client/leverages", {"leverage": 30})).body["success"]
    rows = (await trader.get("/v1/client/leverages")).data["rows"]
    cross = {r["symbol"]: r["leverage"] for r in rows if r["margin_mode"] == "CROSS"}
    assert cross[ETH] == 30 and cross["PERP_BNB_USDC"] == 30 and cross["PERP_OP_USDC"] == 10


async def test_legacy_leverage_route_sets_cross_leverage(trader: SignedClient) -> None:
    reply = await trader.post("/v1/client/leverage", {"leverage": 5, "symbol": ETH})
    assert reply.data["leverage"] == 5
    assert (await trader.get("/v1/client/leverage", symbol=ETH)).data["leverage"] == 5
    assert (await trader.post("/v1/client/leverage", {"leverage": 7})).body["success"]
    assert (await trader.get("/v1/client/info")).data["max_leverage"] == 7


async def test_unknown_body_field_is_unknown_param(trader: SignedClient) -> None:
    reply = await trader.post("/v1/order", _order(colour="red"))
    assert (reply.status, reply.code) == (400, -1004)


async def test_numeric_strings_are_accepted(trader: SignedClient) -> None:
    reply = await trader.post("/v1/order", _order(order_price="2900.5", order_quantity="0.5"))
    assert reply.data["order_price"] == Decimal("2900.5")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"order_price": "2900.005"}, -1103),
        ({"order_quantity": "0.00001"}, -1104),
        ({"order_price": 3200}, -1105),
        ({"order_price": 1000}, -1105),
        ({"order_quantity": "0.001", "order_price": 2900}, -1102),
        ({"order_quantity": 50}, -1101),
        ({"side": "UP"}, -1005),
        ({"client_order_id": "-bad"}, -1005),
        ({"client_order_id": "x" * 37}, -1005),
    ],
)
async def test_order_validation_codes(
    trader: SignedClient, change: dict[str, Any], code: int
) -> None:
    reply = await trader.post("/v1/order", _order(**change))
    assert (reply.status, reply.code) == (400, code), reply


async def test_limit_order_rests_and_is_listed(trader: SignedClient) -> None:
    ack = (await trader.post("/v1/order", _order(client_order_id="dip-1"))).data
    assert set(ack) >= {
        "order_id",
        "client_order_id",
        "order_type",
        "order_price",
        "order_quantity",
        "error_message",
    }
    row = (await trader.get(f"/v1/order/{ack['order_id']}")).data
    assert row["status"] == "NEW" and row["price"] == 2900 and row["type"] == "LIMIT"
    assert row["client_order_id"] == "dip-1" and row["margin_mode"] == "CROSS"
    by_coid = (await trader.get("/v1/client/order/dip-1")).data
    assert by_coid["order_id"] == ack["order_id"]


async def test_duplicate_open_client_order_id_is_409(trader: SignedClient) -> None:
    await trader.post("/v1/order", _order(client_order_id="same"))
    reply = await trader.post("/v1/order", _order(client_order_id="same"))
    assert (reply.status, reply.code) == (409, -1007)
    await trader.delete("/v1/client/order", client_order_id="same", symbol=ETH)
    again = await trader.post("/v1/order", _order(client_order_id="same"))
    assert again.body["success"]
    latest = (await trader.get("/v1/client/order/same")).data
    assert latest["order_id"] == again.data["order_id"] and latest["status"] == "NEW"


async def test_cancel_routes(trader: SignedClient) -> None:
    a = (await trader.post("/v1/order", _order())).data["order_id"]
    reply = await trader.delete("/v1/order", order_id=a, symbol=ETH)
    assert reply.data == {"status": "CANCEL_SENT"}
    again = await trader.delete("/v1/order", order_id=a, symbol=ETH)
    assert (again.status, again.code) == (400, -1006)
    ids = [
        (await trader.post("/v1/order", _order(client_order_id=f"c{i}"))).data["order_id"]
        for i in range(3)
    ]
    reply = await trader.delete("/v1/batch-order", order_ids=f"{ids[0]},{ids[1]}")
    assert reply.data == {"status": "CANCEL_ALL_SENT"}
    reply = await trader.delete("/v1/client/batch-order", client_order_ids="c2,zz")
    assert reply.data == {"status": "CANCEL_ALL_SENT"}
    none_left = await trader.delete("/v1/batch-order", order_ids="999999")
    assert none_left.code == -1006
    await trader.post("/v1/order", _order())
    await trader.post("/v1/order", _order(symbol=BTC, order_price=90000, order_quantity="0.01"))
    assert (await trader.delete("/v1/orders", symbol=ETH)).data == {"status": "CANCEL_ALL_SENT"}
    open_ = (await trader.get("/v1/orders", status="INCOMPLETE")).data["rows"]
    assert [r["symbol"] for r in open_] == [BTC]
    await trader.delete("/v1/orders")
    assert (await trader.get("/v1/orders", status="INCOMPLETE")).data["rows"] == []


async def test_edit_changes_price_and_quantity(trader: SignedClient) -> None:
    oid = (await trader.post("/v1/order", _order())).data["order_id"]
    reply = await trader.put(
        "/v1/order",
        {
            "order_id": str(oid),
            "symbol": ETH,
            "order_type": "LIMIT",
            "side": "BUY",
            "order_price": 2800,
            "order_quantity": 2,
        },
    )
    assert reply.data == {"status": "EDIT_SENT"}
    row = (await trader.get(f"/v1/order/{oid}")).data
    assert (row["price"], row["quantity"]) == (2800, 2)


async def test_batch_create_reports_each_order(trader: SignedClient) -> None:
    reply = await trader.post(
        "/v1/batch-order",
        {
            "orders": [
                _order(client_order_id="b1"),
                _order(client_order_id="b2", order_price="1"),
            ]
        },
    )
    rows = reply.data["rows"]
    assert rows[0]["order_id"] and rows[0]["error_message"] == "none"
    assert rows[1]["order_id"] is None and rows[1]["error_code"] == -1105


async def test_order_list_filters_paginates_and_sorts(trader: SignedClient) -> None:
    for i in range(5):
        await trader.post("/v1/order", _order(order_price=2900 - i, client_order_id=f"p{i}"))
    await trader.post("/v1/order", _order(side="SELL", order_price=3050))
    page = (await trader.get("/v1/orders", side="BUY", size=2, page=2)).data
    assert page["meta"] == {"total": 5, "records_per_page": 2, "current_page": 2}
    asc = (await trader.get("/v1/orders", side="BUY", sort_by="CREATED_TIME_ASC")).data["rows"]
    assert [r["client_order_id"] for r in asc] == ["p0", "p1", "p2", "p3", "p4"]
    desc = (await trader.get("/v1/orders", side="BUY")).data["rows"]
    assert [r["order_id"] for r in desc] == sorted((r["order_id"] for r in asc), reverse=True)
    assert (await trader.get("/v1/orders", status="COMPLETED")).data["meta"]["total"] == 0
    assert (await trader.get("/v1/orders", order_tag="nope")).data["rows"] == []
    assert (await trader.get("/v1/orders", size=501)).code == -1005


async def test_market_order_fills_and_opens_a_position(trader: SignedClient) -> None:
    ack = (
        await trader.post(
            "/v1/order", {"symbol": ETH, "order_type": "MARKET", "side": "BUY", "order_quantity": 1}
        )
    ).data
    row = (await trader.get(f"/v1/order/{ack['order_id']}")).data
    assert row["status"] == "FILLED" and row["total_executed_quantity"] == 1
    assert row["average_executed_price"] == Decimal("3001.5")  # mark + 5 bps slippage
    assert row["total_fee"] == Decimal("1.50075")  # taker 5 bps
    positions = (await trader.get("/v1/positions")).data
    for field in (
        "current_margin_ratio_with_orders",
        "free_collateral",
        "initial_margin_ratio",
        "maintenance_margin_ratio",
        "margin_ratio",
        "open_margin_ratio",
        "total_collateral_value",
        "total_pnl_24_h",
    ):
        assert field in positions
    (pos,) = positions["rows"]
    assert pos["position_qty"] == 1 and pos["margin_mode"] == "CROSS" and pos["margin"] == 0
    one = (await trader.get(f"/v1/position/{ETH}")).data
    assert one["position_qty"] == 1
    lite = (await trader.get("/v1/positions_lite")).data["rows"]
    assert lite[0]["symbol"] == ETH and "seq" not in lite[0]
    trades = (await trader.get("/v1/trades")).data
    assert trades["rows"][0]["order_id"] == ack["order_id"] and trades["meta"]["total"] == 1


async def test_position_of_a_flat_symbol_is_a_zeroed_row(trader: SignedClient) -> None:
    row = (await trader.get(f"/v1/position/{BTC}", margin_mode="ISOLATED")).data
    assert row["position_qty"] == 0 and row["margin_mode"] == "ISOLATED"


async def test_ioc_fok_and_post_only_outcomes(trader: SignedClient) -> None:
    ioc = (await trader.post("/v1/order", _order(order_type="IOC", order_price=2900))).data
    assert (await trader.get(f"/v1/order/{ioc['order_id']}")).data["status"] == "CANCELLED"
    fok = (await trader.post("/v1/order", _order(order_type="FOK", order_price=3010))).data
    assert (await trader.get(f"/v1/order/{fok['order_id']}")).data["status"] == "FILLED"
    post = (await trader.post("/v1/order", _order(order_type="POST_ONLY", order_price=3010))).data
    assert (await trader.get(f"/v1/order/{post['order_id']}")).data["status"] == "CANCELLED"


async def test_resting_order_fills_when_the_mark_crosses(trader: SignedClient, market: Any) -> None:
    oid = (await trader.post("/v1/order", _order(order_price=2950))).data["order_id"]
    await market.set_price(ETH, 2949)
    row = (await trader.get(f"/v1/order/{oid}")).data
    assert row["status"] == "FILLED" and row["average_executed_price"] == 2950
    assert row["total_fee"] == Decimal("0.59")  # maker 2 bps


async def test_holding_account_and_client_info_shapes(trader: SignedClient) -> None:
    holding = (await trader.get("/v1/client/holding")).data["holding"]
    assert holding[0]["token"] == "USDC" and holding[0]["holding"] == 10000
    for field in ("frozen", "pending_short", "isolated_margin", "isolated_order_frozen"):
        assert field in holding[0]
    agg = (await trader.get("/v1/client/aggregate/holding")).data["rows"]
    assert agg[0]["account_id"] == trader.account_id
    info = (await trader.get("/v1/client/info")).data
    assert info["account_id"] == trader.account_id
    assert (info["taker_fee_rate"], info["maker_fee_rate"]) == (5, 2)
    assert ETH in info["imr_factor"] and ETH in info["max_notional"]
    account_info = (await trader.get("/v1/account_info")).data
    assert "total_pnl_24h" in account_info and account_info["free_collateral"] == 10000


async def test_margin_mode_default_is_used_by_orders(trader: SignedClient) -> None:
    rows = (await trader.get("/v1/client/margin_modes")).data["rows"]
    assert {"symbol": ETH, "default_margin_mode": "CROSS"} in rows
    reply = await trader.post(
        "/v1/client/margin_mode", {"symbol": ETH, "default_margin_mode": "ISOLATED"}
    )
    assert reply.body == {"success": True, "timestamp": reply.body["timestamp"]}
    oid = (await trader.post("/v1/order", _order())).data["order_id"]
    assert (await trader.get(f"/v1/order/{oid}")).data["margin_mode"] == "ISOLATED"

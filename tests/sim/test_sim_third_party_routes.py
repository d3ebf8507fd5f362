"""Routes added so third-party clients work unchanged: funding rates, funding-fee history and
the order book. Each test sends the request target and content type exactly as the client
sent them to `runner sim serve` (recorded from ccxt woofipro and orderly-evm-connector 0.2.9
by bench/third_party_clients.py), signed the way that client signs."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from sim_client import Reply, SignedClient

ETH = "PERP_ETH_USDC"
BTC = "PERP_BTC_USDC"
EIGHT_HOURS_MS = 8 * 3600 * 1000
CCXT_FORM = "application/x-www-form-urlencoded"
CONNECTOR_FORM = "application/x-www-form-urlencoded;charset=utf-8"


async def _signed_get(trader: SignedClient, target: str, content_type: str) -> Reply:
    """A GET of `target` as sent on the wire, signed like ccxt (url-safe, no padding)."""
    headers = trader.headers("GET", target, "")
    raw = base64.urlsafe_b64decode(headers["orderly-signature"])
    headers["orderly-signature"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    headers["content-type"] = content_type
    return Reply(await trader.client.get(target, headers=headers))


async def _public_get(trader: SignedClient, target: str) -> Reply:
    # ccxt sends public requests with no orderly-* headers and no content type
    return Reply(await trader.client.get(target))


async def test_ccxt_funding_rate_request_gets_zero_rates_and_an_eight_hour_interval(
    trader: SignedClient,
) -> None:
    reply = await _public_get(trader, f"/v1/public/funding_rate/{BTC}")
    data: dict[str, Any] = reply.data
    assert data["symbol"] == BTC
    assert data["est_funding_rate"] == 0 and data["last_funding_rate"] == 0
    assert data["sum_unitary_funding"] == 0
    # ccxt derives the interval as next_funding_time - last_funding_rate_timestamp
    assert data["next_funding_time"] - data["last_funding_rate_timestamp"] == EIGHT_HOURS_MS
    assert data["last_funding_rate_timestamp"] <= data["est_funding_rate_timestamp"]
    assert data["est_funding_rate_timestamp"] < data["next_funding_time"]
    futures = (await _public_get(trader, f"/v1/public/futures/{BTC}")).data
    assert futures["next_funding_time"] == data["next_funding_time"]


async def test_ccxt_funding_rates_request_lists_every_symbol(trader: SignedClient) -> None:
    rows = (await _public_get(trader, "/v1/public/funding_rates")).data["rows"]
    info = (await _public_get(trader, "/v1/public/info")).data["rows"]
    assert [r["symbol"] for r in rows] == [r["symbol"] for r in info]


async def test_funding_rate_of_an_unknown_symbol_is_invalid_param(trader: SignedClient) -> None:
    reply = await _public_get(trader, "/v1/public/funding_rate/PERP_NOPE_USDC")
    assert (reply.status, reply.code) == (400, -1005)


@pytest.mark.parametrize(
    ("target", "content_type", "page_size"),
    [
        # connector get_funding_fee_history(symbol)
        (f"/v1/funding_fee/history?symbol={ETH}", CONNECTOR_FORM, 60),
        # ccxt fetch_funding_history(symbol)
        (f"/v1/funding_fee/history?symbol={BTC}", CCXT_FORM, 60),
        # ccxt fetch_funding_history(symbol, since, limit): keys sorted
        (f"/v1/funding_fee/history?size=500&start_t=1700000000000&symbol={BTC}", CCXT_FORM, 500),
    ],
)
async def test_funding_fee_history_requests_answer_an_empty_page(
    trader: SignedClient, target: str, content_type: str, page_size: int
) -> None:
    await trader.post(
        "/v1/order", {"symbol": ETH, "order_type": "MARKET", "side": "BUY", "order_quantity": 1}
    )
    data = (await _signed_get(trader, target, content_type)).data
    assert data == {
        "meta": {"total": 0, "records_per_page": page_size, "current_page": 1},
        "rows": [],
    }


async def test_funding_fee_history_of_an_unknown_symbol_is_invalid_param(
    trader: SignedClient,
) -> None:
    reply = await _signed_get(trader, "/v1/funding_fee/history?symbol=PERP_NOPE_USDC", CCXT_FORM)
    assert (reply.status, reply.code) == (400, -1005)


async def test_funding_fee_history_requires_a_signature(trader: SignedClient) -> None:
    reply = Reply(await trader.client.get(f"/v1/funding_fee/history?symbol={ETH}"))
    assert (reply.status, reply.code) == (401, -1001)


async def test_ccxt_orderbook_request_shows_the_price_an_immediate_fill_gets(
    trader: SignedClient,
) -> None:
    book = (await _signed_get(trader, f"/v1/orderbook/{ETH}", CCXT_FORM)).data
    (ask,) = book["asks"]
    (bid,) = book["bids"]
    assert bid["price"] < Decimal(3000) < ask["price"]
    assert isinstance(book["timestamp"], int)
    for side, level in (("BUY", ask), ("SELL", bid)):
        ack = (
            await trader.post(
                "/v1/order",
                {"symbol": ETH, "order_type": "MARKET", "side": side, "order_quantity": 2},
            )
        ).data
        row = (await trader.get(f"/v1/order/{ack['order_id']}")).data
        assert row["average_executed_price"] == level["price"]
        assert row["total_executed_quantity"] <= level["quantity"]


async def test_orderbook_max_level_below_one_is_invalid_param(trader: SignedClient) -> None:
    reply = await _signed_get(trader, f"/v1/orderbook/{ETH}?max_level=0", CONNECTOR_FORM)
    assert (reply.status, reply.code) == (400, -1005)
    ok = await _signed_get(trader, f"/v1/orderbook/{ETH}?max_level=5", CONNECTOR_FORM)
    assert len(ok.data["asks"]) == 1

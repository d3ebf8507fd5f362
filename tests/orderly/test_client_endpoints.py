"""Every endpoint method of OrderlyClient against the simulator: typed results, real effects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from runner.enums import MarginAdjustment, MarginMode, OrderStatus, OrderType, Side
from runner.errors import ConfigError
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import UsageError
from runner.orderly.types import OrderRequest

from .conftest import BTC, ETH, ETH_MARK, open_orders


def limit(
    price: str | int,
    qty: str = "0.1",
    coid: str | None = None,
    side: Side = Side.BUY,
    mode: MarginMode | None = None,
) -> OrderRequest:
    return OrderRequest(
        symbol=ETH,
        order_type=OrderType.LIMIT,
        side=side,
        order_quantity=Decimal(qty),
        order_price=Decimal(price),
        client_order_id=coid,
        margin_mode=mode,
    )


async def test_public_market_data_is_typed_and_follows_the_mark(
    client: OrderlyClient, admin: Any
) -> None:
    symbols = await client.get_symbols()
    assert ETH in {s.symbol for s in symbols}
    eth = await client.get_symbol(ETH)
    assert eth.symbol == ETH and isinstance(eth.quote_tick, Decimal) and eth.base_imr > 0
    assert eth == next(s for s in symbols if s.symbol == ETH)
    await admin.set_price(ETH, "3100.5")
    future = await client.get_future(ETH)
    assert future.mark_price == Decimal("3100.5")
    assert {f.symbol: f.mark_price for f in await client.get_futures()}[ETH] == Decimal("3100.5")


async def test_leverage_is_read_and_set_per_symbol_and_mode(client: OrderlyClient) -> None:
    assert (await client.set_leverage(5, ETH, MarginMode.ISOLATED)).leverage == 5
    assert (await client.get_leverage(ETH, MarginMode.ISOLATED)).leverage == 5
    cross = await client.get_leverage(ETH)
    assert cross.margin_mode is MarginMode.CROSS and cross.leverage != 5
    rows = {(r.symbol, r.margin_mode): r.leverage for r in await client.get_leverages()}
    assert rows[(ETH, MarginMode.ISOLATED)] == 5


async def test_batch_leverage_sets_every_symbol_of_the_mode(client: OrderlyClient) -> None:
    await client.set_leverage_all(3, MarginMode.CROSS)
    rows = await client.get_leverages()
    assert {r.leverage for r in rows if r.margin_mode is MarginMode.CROSS} == {3}
    assert any(r.leverage != 3 for r in rows if r.margin_mode is MarginMode.ISOLATED)


async def test_default_margin_mode_is_set_and_read(client: OrderlyClient) -> None:
    await client.set_margin_mode(BTC, MarginMode.ISOLATED)
    modes = {m.symbol: m.default_margin_mode for m in await client.get_margin_modes()}
    assert modes[BTC] is MarginMode.ISOLATED and modes[ETH] is MarginMode.CROSS


async def test_order_is_placed_read_edited_and_cancelled(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    ack = await client.create_order(limit(2950, coid="pb-entry-1"))
    assert ack.client_order_id == "pb-entry-1" and ack.order_price == Decimal(2950)
    by_id = await client.get_order(ack.order_id)
    assert by_id == await client.get_order_by_client_id("pb-entry-1")
    assert by_id.status is OrderStatus.NEW and by_id.price == Decimal(2950)
    await client.edit_order(ack.order_id, limit(2940, coid="pb-entry-1"))
    assert (await client.get_order(ack.order_id)).price == Decimal(2940)
    assert [o.order_id for o in await client.get_orders(status="INCOMPLETE")] == [ack.order_id]
    assert await client.cancel_order(ack.order_id, ETH) is True
    assert (await client.get_order(ack.order_id)).status is OrderStatus.CANCELLED
    assert open_orders(await admin.state(), account[0]) == []


async def test_cancel_of_an_order_already_gone_returns_normally(client: OrderlyClient) -> None:
    ack = await client.create_order(limit(2950, coid="gone-1"))
    assert await client.cancel_order_by_client_id("gone-1", ETH) is True
    assert await client.cancel_order_by_client_id("gone-1", ETH) is False
    assert await client.cancel_order(ack.order_id, ETH) is False
    await client.cancel_orders([ack.order_id])
    await client.cancel_orders_by_client_id(["gone-1"])


async def test_cancel_all_and_batch_cancels_leave_no_open_orders(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    acks = [await client.create_order(limit(2900 + i, coid=f"c-{i}")) for i in range(6)]
    await client.cancel_orders([acks[0].order_id, acks[1].order_id])
    await client.cancel_orders_by_client_id(["c-2", "c-3"])
    left = {o["client_order_id"] for o in open_orders(await admin.state(), account[0])}
    assert left == {"c-4", "c-5"}
    await client.cancel_all_orders(ETH)
    assert open_orders(await admin.state(), account[0]) == []
    await client.create_order(limit(2900, coid="c-9"))
    await client.cancel_all_orders()
    assert open_orders(await admin.state(), account[0]) == []


async def test_batch_create_reports_each_row(client: OrderlyClient) -> None:
    rows = await client.create_orders(
        [limit(2950, coid="b-1"), limit("2950.001", coid="b-2"), limit(2940, coid="b-3")]
    )
    assert [r.ok for r in rows] == [True, False, True]
    assert rows[1].error_code == -1103 and rows[1].error and rows[1].ack is None
    assert rows[0].ack is not None and rows[0].ack.client_order_id == "b-1"
    assert rows[0].request.client_order_id == "b-1"


async def test_batch_refuses_reduce_only_and_oversize_without_sending(
    client: OrderlyClient,
) -> None:
    reduce = OrderRequest(
        ETH, OrderType.LIMIT, Side.SELL, Decimal("0.1"), Decimal(3010), reduce_only=True
    )
    with pytest.raises(UsageError, match="reduce_only"):
        await client.create_orders([limit(2950), reduce])
    with pytest.raises(UsageError, match="1 to 10"):
        await client.create_orders([limit(2900 + i) for i in range(11)])
    with pytest.raises(UsageError, match="share"):
        await client.create_orders([limit(2900, coid="x"), limit(2901, coid="x")])
    assert client.request_count == 0


async def test_get_orders_reads_every_page(client: OrderlyClient) -> None:
    for i in range(7):
        await client.create_order(limit(2900 + i, coid=f"p-{i}"))
    before = client.request_count
    orders = await client.get_orders(
        symbol=ETH, side=Side.BUY, status="INCOMPLETE", size=3, sort_by="CREATED_TIME_ASC"
    )
    assert [o.client_order_id for o in orders] == [f"p-{i}" for i in range(7)]
    assert client.request_count - before == 3  # pages of 3, 3 and 1
    assert await client.get_orders(symbol=BTC) == []


async def test_positions_isolated_margin_and_balances(client: OrderlyClient) -> None:
    await client.set_leverage(5, ETH, MarginMode.ISOLATED)
    await client.create_order(
        OrderRequest(
            ETH, OrderType.MARKET, Side.BUY, Decimal("0.5"), margin_mode=MarginMode.ISOLATED
        )
    )
    position = await client.get_position(ETH, MarginMode.ISOLATED)
    assert position.position_qty == Decimal("0.5") and position.leverage == 5
    assert position.mark_price == ETH_MARK and position.margin > 0
    summary = await client.get_positions()
    assert summary.position(ETH, MarginMode.ISOLATED) == position
    await client.adjust_position_margin(ETH, Decimal("100.5"), MarginAdjustment.ADD)
    added = await client.get_position(ETH, MarginMode.ISOLATED)
    assert added.margin == position.margin + Decimal("100.5")
    assert added.est_liq_price < position.est_liq_price
    await client.adjust_position_margin(ETH, Decimal("50"), MarginAdjustment.REDUCE)
    assert (await client.get_position(ETH, MarginMode.ISOLATED)).margin == added.margin - 50
    flat = await client.get_position(BTC)
    assert flat.position_qty == 0
    (holding,) = await client.get_holding()
    assert holding.token == "USDC" and holding.isolated_margin == added.margin - 50
    assert len(await client.get_holding(all=True)) >= 1
    (aggregate,) = await client.get_aggregate_holding()
    assert aggregate.account_id == client.account_id and aggregate.balance == holding
    info = await client.get_client_info()
    assert info.account_id == client.account_id and isinstance(info.imr_factor[ETH], Decimal)
    account_info = await client.get_account_info()
    assert account_info.free_collateral == (await client.get_positions()).free_collateral
    assert account_info.total_collateral_value > 0


async def test_client_without_credentials_reads_public_data_only(sim_transport: Any) -> None:
    async with OrderlyClient("http://sim.test", transport=sim_transport) as public:
        assert (await public.get_future(ETH)).symbol == ETH
        with pytest.raises(ConfigError, match="needs an account id"):
            await public.get_holding()
        assert public.request_count == 1
    with pytest.raises(ConfigError, match="base URL"):
        OrderlyClient("api.orderly.org")

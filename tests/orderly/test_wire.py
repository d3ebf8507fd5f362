"""Request bytes are exact, and responses parse into typed values or name what is wrong."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.enums import MarginMode, OrderStatus, OrderType, Side
from runner.orderly.errors import ProtocolError, UsageError
from runner.orderly.orders import Order, OrderRequest
from runner.orderly.types import ClientInfo, Holding, PositionsSummary, SymbolInfo
from runner.orderly.wire import Fields, build_query, encode_json, parse_json, path_segment

EP = ("GET", "/v1/test")


def test_body_is_compact_ordered_and_keeps_decimals_exact() -> None:
    body = {"b": Decimal("1E+2"), "a": Decimal("0.00000001"), "s": Side.BUY, "t": True, "n": None}
    assert encode_json(body) == b'{"b":100,"a":0.00000001,"s":"BUY","t":true,"n":null}'


def test_body_refuses_floats_and_non_finite_numbers() -> None:
    with pytest.raises(TypeError):
        encode_json({"price": 1.1})
    with pytest.raises(ValueError, match="non-finite"):
        encode_json({"price": Decimal("NaN")})


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_decimal_survives_the_round_trip_exactly(value: Decimal) -> None:
    assert parse_json(encode_json([value]))[0] == value


def test_query_keeps_order_drops_none_and_leaves_colons_and_commas_raw() -> None:
    query = build_query(
        [
            ("symbol", "PERP_ETH_USDC"),
            ("x", None),
            ("order_tag", "enum:DCA"),
            ("ids", "1,2"),
            ("all", True),
            ("mode", MarginMode.ISOLATED),
            ("q", "a b&c"),
        ]
    )
    assert query == (
        "symbol=PERP_ETH_USDC&order_tag=enum:DCA&ids=1,2&all=true&mode=ISOLATED&q=a%20b%26c"
    )


@pytest.mark.parametrize("bad", ["PERP/ETH", "../v1", "a?b", "", "x" * 65, "a%2F"])
def test_values_that_would_change_the_path_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        path_segment(bad)


def test_order_request_body_has_a_fixed_order_and_omits_unset_fields() -> None:
    req = OrderRequest(
        symbol="PERP_ETH_USDC",
        order_type=OrderType.LIMIT,
        side=Side.BUY,
        order_quantity=Decimal("1.50"),
        order_price=Decimal("2500"),
        client_order_id="pb-dip-1",
        margin_mode=MarginMode.ISOLATED,
    )
    assert encode_json(req.to_body()) == (
        b'{"symbol":"PERP_ETH_USDC","order_type":"LIMIT","side":"BUY","order_price":2500,'
        b'"order_quantity":1.50,"margin_mode":"ISOLATED","client_order_id":"pb-dip-1"}'
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order_type": OrderType.LIMIT, "order_price": None}, "needs order_price"),
        ({"order_quantity": Decimal(0)}, "positive"),
        ({"order_quantity": None}, "order_quantity"),
        ({"client_order_id": "-starts-with-hyphen"}, "client_order_id"),
        ({"client_order_id": "x" * 37}, "client_order_id"),
        ({"client_order_id": "a,b"}, "client_order_id"),
        ({"order_amount": Decimal(10)}, "order_amount"),
        ({"order_type": OrderType.POST_ONLY, "visible_quantity": Decimal(0)}, "POST_ONLY"),
        ({"visible_quantity": Decimal(5)}, "visible_quantity"),
    ],
)
def test_order_request_refuses_what_the_exchange_can_only_reject(
    kwargs: dict[str, object], match: str
) -> None:
    base: dict[str, object] = {
        "symbol": "PERP_ETH_USDC",
        "order_type": OrderType.LIMIT,
        "side": Side.BUY,
        "order_quantity": Decimal(1),
        "order_price": Decimal(2500),
    }
    with pytest.raises(UsageError, match=match):
        OrderRequest(**{**base, **kwargs})  # type: ignore[arg-type]


ORDER_ROW = {
    "order_id": 78151,
    "user_id": 12345,
    "price": Decimal("0.67772"),
    "type": "LIMIT",
    "quantity": 20,
    "amount": None,
    "executed_quantity": 20,
    "total_executed_quantity": 20,
    "visible_quantity": 1,
    "symbol": "PERP_WOO_USDC",
    "side": "BUY",
    "status": "FILLED",
    "total_fee": Decimal("0.5"),
    "fee_asset": "USDC",
    "client_order_id": "",
    "average_executed_price": Decimal("0.67772"),
    "created_time": 1653563963000,
    "updated_time": 1653564213000,
    "realized_pnl": 0,
    "reduce_only": False,
    "margin_mode": "CROSS",
    "something_new": {"ignored": True},
}


@pytest.mark.parametrize(
    ("wire", "expected"), [("", None), (None, None), (17, "17"), ("pb-x", "pb-x")]
)
def test_order_row_client_order_id_accepts_number_empty_and_null(
    wire: object, expected: str | None
) -> None:
    order = Order.from_json(Fields({**ORDER_ROW, "client_order_id": wire}, EP))
    assert order.client_order_id == expected
    assert order.quantity == Decimal(20) and isinstance(order.quantity, Decimal)
    assert order.realized_pnl == Decimal(0) and isinstance(order.realized_pnl, Decimal)
    assert order.status is OrderStatus.FILLED and order.margin_mode is MarginMode.CROSS


def test_missing_required_field_names_field_and_endpoint() -> None:
    row = {k: v for k, v in ORDER_ROW.items() if k != "status"}
    with pytest.raises(ProtocolError) as info:
        Order.from_json(Fields(row, ("GET", "/v1/orders")))
    assert "status" in str(info.value) and "GET /v1/orders" in str(info.value)


def test_unknown_enum_value_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="side"):
        Order.from_json(Fields({**ORDER_ROW, "side": "SIDEWAYS"}, EP))


SYMBOL = {
    "symbol": "PERP_BTC_USDC",
    "quote_min": 0,
    "quote_max": 100000,
    "quote_tick": Decimal("0.1"),
    "base_min": Decimal("0.00001"),
    "base_max": 20,
    "base_tick": Decimal("0.00001"),
    "min_notional": 1,
    "price_range": Decimal("0.02"),
    "price_scope": Decimal("0.4"),
    "base_mmr": Decimal("0.05"),
    "base_imr": Decimal("0.1"),
    "imr_factor": Decimal("0.025"),
    "created_time": 1684140107326,
}


def test_symbol_info_rounds_to_its_grid_with_the_mode_asked_for() -> None:
    info = SymbolInfo.from_json(Fields(SYMBOL, EP))
    assert info.round_price(Decimal("2500.07"), ROUND_DOWN) == Decimal("2500.0")
    assert info.round_price(Decimal("2500.01"), ROUND_UP) == Decimal("2500.1")
    assert info.round_quantity(Decimal("0.123456"), ROUND_HALF_EVEN) == Decimal("0.12346")
    assert info.price_on_tick(Decimal("2500.1")) and not info.price_on_tick(Decimal("2500.15"))
    assert info.quantity_on_tick(Decimal("0.00002"))
    assert info.max_leverage == 10
    assert isinstance(info.quote_max, Decimal)


def test_positions_summary_finds_rows_by_symbol_and_mode() -> None:
    row = {
        "symbol": "PERP_BTC_USDC",
        "position_qty": -5,
        "cost_position": Decimal("-139329.36"),
        "average_open_price": Decimal("27908.14"),
        "unsettled_pnl": Decimal("354.85"),
        "mark_price": Decimal("27794.9"),
        "est_liq_price": Decimal("117335.93"),
        "imr": Decimal("0.1"),
        "mmr": Decimal("0.05"),
        "leverage": 10,
        "margin_mode": "ISOLATED",
        "margin": 1000,
    }
    summary = {
        "free_collateral": 1,
        "total_collateral_value": 2,
        "margin_ratio": 3,
        "initial_margin_ratio": Decimal("0.1"),
        "maintenance_margin_ratio": Decimal("0.05"),
        "open_margin_ratio": 1,
        "current_margin_ratio_with_orders": 1,
        "initial_margin_ratio_with_orders": 1,
        "maintenance_margin_ratio_with_orders": 1,
        "rows": [row],
    }
    parsed = PositionsSummary.from_json(Fields(summary, EP))
    position = parsed.position("PERP_BTC_USDC", MarginMode.ISOLATED)
    assert position is not None and position.margin == Decimal(1000)
    assert position.pending_long_qty == 0
    assert parsed.position("PERP_BTC_USDC", MarginMode.CROSS) is None


def test_client_info_maps_are_decimal_and_holding_defaults_isolated_fields() -> None:
    info = ClientInfo.from_json(
        Fields(
            {
                "account_id": "0xabc",
                "max_leverage": 20,
                "taker_fee_rate": 5,
                "maker_fee_rate": 2,
                "imr_factor": {"PERP_BTC_USDC": Decimal("0.0000000910")},
                "max_notional": {"PERP_BTC_USDC": 5000000},
            },
            EP,
        )
    )
    assert info.max_notional == {"PERP_BTC_USDC": Decimal(5000000)}
    holding = Holding.from_json(Fields({"token": "USDC", "holding": 10, "frozen": 0}, EP))
    assert holding.isolated_margin == 0 and isinstance(holding.holding, Decimal)

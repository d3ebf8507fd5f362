"""Each error kind, produced by the simulator for real, and what the client does about it."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from runner.enums import MarginAdjustment, MarginMode, OrderType, Side
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import (
    AuthError,
    Duplicate,
    InvalidRequest,
    NotFound,
    OrderlyError,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RiskRejected,
    ServerError,
    Unavailable,
)
from runner.orderly.orders import Order
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer, generate_secret
from runner.orderly.transport import Call
from runner.orderly.types import OrderRequest
from runner.orderly.wire import Fields

from .conftest import BTC, ETH, Sleeper, open_orders


def order(price: str, qty: str = "0.1", coid: str | None = None, symbol: str = ETH) -> OrderRequest:
    return OrderRequest(
        symbol, OrderType.LIMIT, Side.BUY, Decimal(qty), Decimal(price), client_order_id=coid
    )


async def test_unregistered_key_is_an_auth_error_sent_once(
    make_client: Callable[..., OrderlyClient],
) -> None:
    async with make_client(signer=Signer(generate_secret())) as client:
        with pytest.raises(AuthError) as info:
            await client.get_holding()
        assert info.value.code == -1002 and info.value.http_status == 401
        assert client.request_count == 1


async def test_timestamp_outside_the_window_is_an_auth_error(
    make_client: Callable[..., OrderlyClient],
) -> None:
    async with make_client(clock=lambda: time.time() - 400) as client:
        with pytest.raises(AuthError) as info:
            await client.get_positions()
        assert info.value.code == -1001


async def test_key_without_trading_scope_may_read_but_not_trade(
    make_client: Callable[..., OrderlyClient], admin: Any
) -> None:
    data = await admin.call("POST", "/sim/accounts", {"balance": 1000, "scope": "read"})
    async with make_client(account_id=data["account_id"], signer=Signer(data["secret"])) as c:
        await c.get_holding()
        with pytest.raises(AuthError, match="trading"):
            await c.create_order(order("2950"))


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (order("2950.001"), -1103),
        (order("2950", qty="0.0000001"), -1104),
        (order("2950", qty="0.001"), -1102),
        (order("3500"), -1105),
        (order("2950", symbol="PERP_NOPE_USDC"), -1005),
    ],
    ids=["price-tick", "size-step", "min-notional", "price-range", "unknown-symbol"],
)
async def test_order_rule_violations_are_invalid_requests(
    client: OrderlyClient, request_: OrderRequest, code: int
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await client.create_order(request_)
    assert info.value.code == code and info.value.http_status == 400
    assert str(info.value).startswith("POST /v1/order: invalid request: code ")
    assert client.request_count == 1


async def test_missing_order_is_not_found(client: OrderlyClient) -> None:
    with pytest.raises(NotFound):
        await client.get_order(987654)
    with pytest.raises(NotFound) as info:
        await client.get_order_by_client_id("never-placed")
    assert info.value.code == -1006 and "GET /v1/client/order/never-placed" in str(info.value)


async def test_second_open_order_with_one_client_order_id_is_a_duplicate(
    client: OrderlyClient,
) -> None:
    await client.create_order(order("2950", coid="dup-1"))
    with pytest.raises(Duplicate) as info:
        await client.create_order(order("2940", coid="dup-1"))
    assert info.value.code == -1007
    assert client.request_count == 2  # a duplicate is a refusal, not a reason to look up


async def test_orders_and_margin_moves_beyond_the_account_are_risk_rejections(
    client: OrderlyClient,
) -> None:
    with pytest.raises(RiskRejected) as info:
        await client.create_order(order("59000", qty="19", symbol=BTC))
    assert info.value.code == -1101
    await client.create_order(
        OrderRequest(
            ETH, OrderType.MARKET, Side.BUY, Decimal("0.5"), margin_mode=MarginMode.ISOLATED
        )
    )
    with pytest.raises(RiskRejected):
        await client.adjust_position_margin(ETH, Decimal(5000), MarginAdjustment.REDUCE)


async def test_rate_limited_reads_wait_retry_after_then_give_up(
    client: OrderlyClient, admin: Any, sleeper: Sleeper
) -> None:
    await admin.set_faults(rate_limit_rate=1.0)
    with pytest.raises(RateLimited) as info:
        await client.get_holding()
    assert info.value.code == -1003 and info.value.retry_after == 1.0
    assert client.request_count == 4 and sleeper.delays == [1.0, 1.0, 1.0]


async def test_rate_limited_write_is_retried_because_it_was_refused(
    client: OrderlyClient, admin: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(rate_limit_rate=1.0)
    sleeper.steps.append(lambda: admin.set_faults(rate_limit_rate=0.0))
    ack = await client.create_order(order("2950"))
    assert client.request_count == 2
    assert [o["order_id"] for o in open_orders(await admin.state(), account[0])] == [ack.order_id]


async def test_server_errors_on_reads_are_retried_with_backoff(
    client: OrderlyClient, admin: Any, sleeper: Sleeper
) -> None:
    await admin.set_faults(error_rate=1.0)
    with pytest.raises(ServerError) as info:
        await client.get_positions()
    assert info.value.http_status in (500, 502, 503) and client.request_count == 4
    assert len(sleeper.delays) == 3
    assert all(0 <= d <= cap for d, cap in zip(sleeper.delays, (0.25, 0.5, 1.0), strict=True))
    sleeper.steps.append(lambda: admin.set_faults(error_rate=0.0))
    await client.get_positions()


async def test_server_error_on_a_write_is_an_unknown_outcome_never_resent(
    client: OrderlyClient, admin: Any
) -> None:
    await admin.set_faults(error_rate=1.0)
    with pytest.raises(OutcomeUnknown) as info:
        await client.set_margin_mode(BTC, MarginMode.ISOLATED)
    assert info.value.http_status in (500, 502, 503)
    assert client.request_count == 1


async def test_lost_response_to_a_write_is_an_unknown_outcome(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=1.0)
    with pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
        await client.set_margin_mode(BTC, MarginMode.ISOLATED)
    assert client.request_count == 1
    (row,) = [a for a in (await admin.state())["accounts"] if a["account_id"] == account[0]]
    assert row["default_margin_modes"][BTC] == "ISOLATED"  # it was carried out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unreachable_server_is_unavailable_and_any_request_may_be_resent(
    sleeper: Sleeper,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with OrderlyClient(
        url,
        account_id="0xabc",
        signer=Signer(generate_secret()),
        sleep=sleeper,
        rate_limiter=RateLimiter.unlimited(),
    ) as client:
        with pytest.raises(Unavailable):
            await client.get_futures()
        assert client.request_count == 4
        with pytest.raises(Unavailable):
            await client.create_order(order("2950"))  # never reached: safe to resend
        assert client.request_count == 8


async def test_response_lacking_a_required_field_is_a_protocol_error(
    client: OrderlyClient,
) -> None:
    call = Call("GET", "/v1/public/futures/{symbol}", f"/v1/public/futures/{ETH}", private=False)
    data = await client._core.call(call)
    with pytest.raises(ProtocolError) as info:
        Order.from_json(Fields(data, (call.method, call.path)))
    assert str(info.value) == (
        f"GET /v1/public/futures/{ETH}: malformed response: field 'order_id' is missing"
    )


async def test_no_secret_in_errors_or_logs(
    make_client: Callable[..., OrderlyClient],
    admin: Any,
    account: tuple[str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = account[1]
    seed = secret.removeprefix("ed25519:")
    errors: list[OrderlyError] = []
    async with make_client() as client:
        await admin.set_faults(error_rate=1.0)
        for call in (client.get_holding(), client.create_order(order("2950", coid="s-1"))):
            try:
                await call
            except OrderlyError as exc:
                errors.append(exc)
        await admin.set_faults(error_rate=0.0)
        try:
            await client.create_order(order("2950.001"))
        except OrderlyError as exc:
            errors.append(exc)
        texts = [caplog.text, repr(client), *(str(e) for e in errors), *(repr(e) for e in errors)]
    assert len(errors) == 3
    for text in texts:
        assert seed not in text
        assert "orderly-signature" not in text.lower()

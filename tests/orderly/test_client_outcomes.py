"""A lost or failed answer to a new order never produces a second order."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from runner.enums import OrderType, Side
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import OutcomeUnknown
from runner.orderly.types import OrderRequest

from .conftest import ETH, Sleeper, open_orders


def order(coid: str | None, price: int = 2950) -> OrderRequest:
    return OrderRequest(
        ETH, OrderType.LIMIT, Side.BUY, Decimal("0.1"), Decimal(price), client_order_id=coid
    )


async def _coids(admin: Any, account_id: str) -> Counter[str]:
    return Counter(o["client_order_id"] for o in open_orders(await admin.state(), account_id))


async def test_lost_answer_is_resolved_by_lookup_without_placing_again(
    client: OrderlyClient, admin: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=1.0)
    sleeper.steps.append(lambda: admin.set_faults(drop_response_rate=0.0))
    ack = await client.create_order(order("lost-1"))
    assert ack.client_order_id == "lost-1"
    assert client.request_count == 2  # the POST whose answer was lost, then the lookup
    assert await _coids(admin, account[0]) == Counter({"lost-1": 1})
    assert (await client.get_order_by_client_id("lost-1")).order_id == ack.order_id


async def test_order_that_failed_before_processing_is_placed_again_once(
    client: OrderlyClient, admin: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(error_rate=1.0)  # the simulator answers 5xx before processing
    sleeper.steps.append(lambda: admin.set_faults(error_rate=0.0))
    ack = await client.create_order(order("failed-1"))
    assert client.request_count == 3  # POST (5xx), lookup (not found), POST again
    assert await _coids(admin, account[0]) == Counter({"failed-1": 1})
    assert ack.order_id == (await client.get_order_by_client_id("failed-1")).order_id


async def test_without_client_order_id_an_unknown_outcome_is_raised_not_resent(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=1.0)
    with pytest.raises(OutcomeUnknown):
        await client.create_order(order(None))
    assert client.request_count == 1
    assert len(open_orders(await admin.state(), account[0])) == 1


async def test_when_even_the_lookup_fails_the_outcome_stays_unknown(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=1.0)
    with pytest.raises(OutcomeUnknown, match="looking client_order_id lost-2 up failed"):
        await client.create_order(order("lost-2"))
    assert client.request_count == 1 + 4  # the POST, then a lookup retried 4 times
    assert await _coids(admin, account[0]) == Counter({"lost-2": 1})


async def test_many_orders_through_a_lossy_link_each_exist_exactly_once(
    client: OrderlyClient, admin: Any, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=0.3, error_rate=0.15, seed=11)
    placed: dict[str, int] = {}
    unknown: list[str] = []
    for i in range(30):
        coid = f"lossy-{i}"
        try:
            placed[coid] = (await client.create_order(order(coid, 2900 + i))).order_id
        except OutcomeUnknown:
            unknown.append(coid)
    await admin.set_faults(drop_response_rate=0.0, error_rate=0.0)
    counts = await _coids(admin, account[0])
    assert max(counts.values()) == 1, counts
    assert set(placed) <= set(counts)
    assert client.request_count > 30  # the faults really struck
    for coid, order_id in placed.items():
        assert (await client.get_order_by_client_id(coid)).order_id == order_id


async def test_lost_batch_answer_is_resolved_row_by_row(
    client: OrderlyClient, admin: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> None:
    await admin.set_faults(drop_response_rate=1.0)
    sleeper.steps.append(lambda: admin.set_faults(drop_response_rate=0.0))
    rows = await client.create_orders([order("bl-1", 2950), order("bl-2", 2940)])
    assert [r.ok for r in rows] == [True, True]
    assert await _coids(admin, account[0]) == Counter({"bl-1": 1, "bl-2": 1})
    assert client.request_count == 3  # the batch, then one lookup per row


async def test_lost_answer_to_a_cancel_is_resent_and_the_second_finds_it_gone(
    client: OrderlyClient, admin: Any, sleeper: Sleeper, account: tuple[str, str, str]
) -> None:
    ack = await client.create_order(order("cx-1"))
    await admin.set_faults(drop_response_rate=1.0)
    sleeper.steps.append(lambda: admin.set_faults(drop_response_rate=0.0))
    assert await client.cancel_order(ack.order_id, ETH) is False
    assert client.request_count == 3
    assert open_orders(await admin.state(), account[0]) == []

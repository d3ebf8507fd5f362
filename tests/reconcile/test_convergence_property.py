"""Convergence from generated account states: whatever the account holds, one apply of the
playbook leaves nothing to do but what Orderly's rules block, and touches nothing foreign."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.enums import MarginMode, OrderType, Side
from runner.journal import Journal
from runner.orderly.client import OrderlyClient
from runner.orderly.errors import OrderlyError
from runner.orderly.orders import OrderRequest
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer
from runner.playbook.build import load_playbook
from runner.reconcile.actions import SlotStatus
from runner.reconcile.run import Exchange, Reconciler
from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://sim.test"
TOKEN = "property-token"
ETH, BTC = "PERP_ETH_USDC", "PERP_BTC_USDC"

leverages = st.sampled_from([1, 2, 3, 5, 10, 20])
foreign_order = st.tuples(
    st.sampled_from([ETH, BTC]),
    st.sampled_from(list(MarginMode)),
    st.sampled_from([None, "manual-a", "other-bot-1"]),
    st.decimals(min_value=Decimal("0.80"), max_value=Decimal("0.95"), places=2),
)
account_states = st.fixed_dictionaries(
    {
        "leverage": st.dictionaries(
            st.sampled_from(
                [(ETH, MarginMode.ISOLATED), (ETH, MarginMode.CROSS), (BTC, MarginMode.CROSS)]
            ),
            leverages,
        ),
        "eth_price_shift": st.sampled_from([None, "2650", "2600"]),  # an older spec of ours
        "foreign": st.lists(foreign_order, max_size=3),
        "position": st.sampled_from([None, MarginMode.ISOLATED, MarginMode.CROSS]),
        "default_isolated": st.booleans(),
    }
)


async def _admin(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    response = await http.post(
        path, content=json.dumps(body, default=str), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    payload = response.json()
    assert payload["success"], payload
    return payload.get("data")


async def _scenario(state: dict[str, Any], tmp: Path) -> None:
    app = create_app(state_dir=None, admin_token=TOKEN, rate_limits=False)
    transport = InProcessTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        await _admin(http, "/sim/market", {"frozen": True})
        await _admin(http, "/sim/prices", {"symbol": ETH, "mark_price": "3000"})
        await _admin(http, "/sim/prices", {"symbol": BTC, "mark_price": "95000"})
        account = await _admin(http, "/sim/accounts", {"balance": "10000"})
        client = OrderlyClient(
            BASE_URL,
            account_id=account["account_id"],
            signer=Signer(account["secret"]),
            transport=transport,
            rate_limiter=RateLimiter.unlimited(),
        )
        quickstart = ROOT / "playbooks" / "quickstart.yaml"
        with Journal.open(tmp / "state") as journal:
            exchange = Exchange(client, account["account_id"], "sim", True, "test", BASE_URL)
            reconciler = Reconciler(exchange, journal, state_dir=tmp / "state")
            # -- build the starting state -------------------------------------------------
            if state["eth_price_shift"]:
                older = tmp / "older.yaml"
                older.write_text(
                    quickstart.read_text().replace(
                        "price: 2700", f"price: {state['eth_price_shift']}"
                    )
                )
                await reconciler.run(load_playbook(older), apply=True)
            if state["default_isolated"]:
                with contextlib.suppress(OrderlyError):  # refused while orders rest
                    await client.set_margin_mode(BTC, MarginMode.ISOLATED)
            if state["position"] is not None:
                await client.create_order(
                    OrderRequest(
                        ETH,
                        OrderType.MARKET,
                        Side.BUY,
                        Decimal("0.05"),
                        client_order_id="manual-position",
                        margin_mode=state["position"],
                    )
                )
            for (symbol, mode), leverage in state["leverage"].items():
                with contextlib.suppress(OrderlyError):  # refused in this state: keep going
                    await client.set_leverage(leverage, symbol, mode)
            for i, (symbol, mode, coid, fraction) in enumerate(state["foreign"]):
                mark = Decimal(3000) if symbol == ETH else Decimal(95000)
                quantity = Decimal("0.05") if symbol == ETH else Decimal("0.002")
                await client.create_order(
                    OrderRequest(
                        symbol,
                        OrderType.LIMIT,
                        Side.BUY,
                        quantity,
                        order_price=(mark * fraction).quantize(Decimal(1)),
                        client_order_id=f"{coid}-{i}" if coid else None,
                        margin_mode=mode,
                    )
                )
            foreign_before = {
                o.order_id
                for o in await client.get_orders(status="INCOMPLETE")
                if not (o.client_order_id or "").startswith("quickstart-")
            }
            # -- the property -----------------------------------------------------------------
            playbook = load_playbook(quickstart)
            result = await reconciler.run(playbook, apply=True)
            assert result.outcome in ("applied", "in_sync", "partial"), result.messages
            again = await reconciler.run(playbook, apply=False)
            assert again.plan.actions == (), [a.to_json() for a in again.plan.actions]
            for condition in again.plan.conditions:
                assert condition.status in (SlotStatus.IN_SYNC, SlotStatus.BLOCKED)
            after = await client.get_orders(status="INCOMPLETE")
            ids = [o.client_order_id for o in after if o.client_order_id]
            assert len(ids) == len(set(ids))
            assert foreign_before <= {o.order_id for o in after}
        await client.aclose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=account_states)
def test_apply_converges_from_any_generated_account_state(state: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_scenario(state, Path(tmp)))

"""State survives a restart, faults are seeded and reproducible, rate limits answer 429/-1003,
lost responses look like dropped connections, and the embedded simulator is idempotent."""

from __future__ import annotations

import json
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_client import SignedClient

from runner.sim.app import create_app
from runner.sim.embedded import open_embedded
from runner.sim.transport import InProcessTransport

TOKEN = "t"
ETH = "PERP_ETH_USDC"
ORDER = {
    "symbol": ETH,
    "order_type": "LIMIT",
    "side": "BUY",
    "order_price": 2900,
    "order_quantity": 1,
}


async def _admin(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    reply = await http.request(
        method,
        path,
        headers={"Authorization": f"Bearer {TOKEN}"},
        content=json.dumps(body) if body is not None else None,
    )
    assert reply.status_code == 200, reply.text
    return json.loads(reply.content, parse_float=Decimal)["data"]


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=InProcessTransport(app), base_url="http://sim.test")


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    async with _client(create_app(state_dir=tmp_path, admin_token=TOKEN)) as http:
        await _admin(http, "POST", "/sim/market", {"frozen": True})
        await _admin(http, "POST", "/sim/prices", {"symbol": ETH, "mark_price": "3000"})
        made = await _admin(http, "POST", "/sim/accounts", {"balance": "5000"})
        trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
        order_id = (await trader.post("/v1/order", ORDER)).data["order_id"]
        await trader.post("/v1/client/leverages", {"leverage": 4, "symbol": ETH})
    async with _client(create_app(state_dir=tmp_path, admin_token=TOKEN)) as http:
        trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
        row = (await trader.get(f"/v1/order/{order_id}")).data
        assert row["status"] == "NEW"
        assert (await trader.get("/v1/client/leverage", symbol=ETH)).data["leverage"] == 4
        assert (await trader.get("/v1/public/futures/" + ETH)).data["mark_price"] == 3000
        assert (await trader.post("/v1/order", ORDER)).data["order_id"] == order_id + 1


async def test_admin_routes_require_the_token(sim_transport: InProcessTransport) -> None:
    async with httpx.AsyncClient(transport=sim_transport, base_url="http://sim.test") as http:
        reply = await http.get("/sim/state")
        assert reply.status_code == 401 and reply.json()["success"] is False
        wrong = await http.get("/sim/state", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


async def test_state_never_shows_secrets(admin: Any) -> None:
    account_id, secret, _ = await admin.create_account()
    text = json.dumps(await admin.state(), default=str)
    assert account_id in text and secret.split(":")[1] not in text


async def _fault_outcomes(tmp_path: Path, seed: int) -> list[int]:
    app = create_app(
        state_dir=tmp_path / f"s{seed}-{len(list(tmp_path.iterdir()))}",
        admin_token=TOKEN,
        rate_limits=False,
    )
    async with _client(app) as http:
        await _admin(
            http, "POST", "/sim/faults", {"error_rate": 0.3, "rate_limit_rate": 0.2, "seed": seed}
        )
        outcomes = []
        for _ in range(40):
            outcomes.append((await http.get("/v1/public/system_info")).status_code)
        return outcomes


async def test_faults_are_seeded_and_reproducible(tmp_path: Path) -> None:
    first = await _fault_outcomes(tmp_path, 7)
    second = await _fault_outcomes(tmp_path, 7)
    other = await _fault_outcomes(tmp_path, 8)
    assert first == second and first != other
    assert {500, 502, 503} & set(first) and 429 in first and 200 in first


async def test_injected_server_error_uses_the_error_envelope(admin: Any) -> None:
    await admin.set_faults(error_rate=1.0, seed=1)
    reply = await admin.client.get("/v1/public/info")
    assert reply.status_code in (500, 502, 503)
    assert reply.json()["code"] == -1000 and reply.json()["success"] is False
    assert (await admin.state())["faults"]["error_rate"] == 1  # admin routes never faulted


async def test_lost_response_raises_remote_protocol_error_after_commit(
    trader: SignedClient, market: Any
) -> None:
    await market.set_faults(drop_response_rate=1.0, seed=3)
    with pytest.raises(httpx.RemoteProtocolError):
        await trader.post("/v1/order", {**ORDER, "client_order_id": "lost-1"})
    await market.set_faults(drop_response_rate=0.0)
    row = (await trader.get("/v1/client/order/lost-1")).data
    assert row["status"] == "NEW"


async def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    app = create_app(state_dir=tmp_path, admin_token=TOKEN, rate_limits=True)
    async with _client(app) as http:
        made = await _admin(http, "POST", "/sim/accounts", {"balance": "5000"})
        trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
        codes = [(await trader.get("/v1/client/leverage", symbol=ETH)).status for _ in range(2)]
        assert codes == [200, 429]
        limited = await trader.get("/v1/client/leverage", symbol=ETH)
        assert limited.code == -1003 and int(limited.headers["retry-after"]) >= 1
        await _admin(http, "POST", "/sim/clock", {"advance_ms": 1000})
        assert (await trader.get("/v1/client/leverage", symbol=ETH)).status == 200
        await _admin(http, "POST", "/sim/faults", {"rate_limit": False})
        codes = [(await trader.get("/v1/client/leverage", symbol=ETH)).status for _ in range(3)]
        assert codes == [200, 200, 200]


async def test_clock_advance_moves_the_seeded_walk_deterministically(tmp_path: Path) -> None:
    marks = []
    for run in range(2):
        app = create_app(
            state_dir=tmp_path / str(run),
            admin_token=TOKEN,
            seed=5,
            clock=lambda: 1_800_000_000_000,
        )
        async with _client(app) as http:
            await _admin(http, "POST", "/sim/clock", {"advance_ms": 60_000})
            marks.append((await _admin(http, "GET", "/sim/state"))["marks"])
    assert marks[0] == marks[1] and marks[0]["PERP_BTC_USDC"] != 95000


async def test_synthetic_symbols_can_be_added(admin: Any) -> None:
    await admin.add_symbols(100)
    rows = (await admin.client.get("/v1/public/info")).json()["data"]["rows"]
    assert len(rows) >= 110 and any(r["symbol"] == "PERP_SYN100_USDC" for r in rows)


async def test_open_embedded_is_idempotent_and_keeps_files_private(tmp_path: Path) -> None:
    first = open_embedded(tmp_path)
    second = open_embedded(tmp_path)
    assert (first.account_id, first.secret, first.orderly_key, first.admin_token) == (
        second.account_id,
        second.secret,
        second.orderly_key,
        second.admin_token,
    )
    assert first.secret.startswith("ed25519:") and first.secret not in repr(first)
    for name in ("admin-token", "default-account.json"):
        mode = stat.S_IMODE((tmp_path / "sim" / name).stat().st_mode)
        assert mode == 0o600
    async with httpx.AsyncClient(transport=second.transport, base_url=second.base_url) as http:
        trader = SignedClient(http, second.account_id, second.secret, second.orderly_key)
        holding = (await trader.get("/v1/client/holding")).data["holding"][0]
        assert holding["holding"] == 10000

"""The simulator over real HTTP: uvicorn on 127.0.0.1 (ephemeral port, in a thread), driven
by plain httpx and by the `runner sim` admin commands."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_client import SignedClient

from runner.cli.main import main
from runner.sim.app import create_app
from runner.sim.server import make_server

TOKEN = "http-admin"
ETH = "PERP_ETH_USDC"


@pytest.fixture(scope="class")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state_dir = tmp_path_factory.mktemp("sim-http")
    app = create_app(state_dir=state_dir, admin_token=TOKEN, rate_limits=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _admin(url: str, method: str, path: str, body: Any = None) -> Any:
    reply = httpx.request(
        method,
        url + path,
        headers={"Authorization": f"Bearer {TOKEN}"},
        content=json.dumps(body) if body is not None else None,
    )
    assert reply.status_code == 200, reply.text
    return json.loads(reply.content, parse_float=Decimal)["data"]


class TestOverRealHttp:
    async def test_signed_order_round_trip(self, server_url: str) -> None:
        _admin(server_url, "POST", "/sim/market", {"frozen": True})
        _admin(server_url, "POST", "/sim/prices", {"symbol": ETH, "mark_price": "3000"})
        made = _admin(server_url, "POST", "/sim/accounts", {"balance": "10000"})
        async with httpx.AsyncClient(base_url=server_url) as http:
            trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
            ack = await trader.post(
                "/v1/order",
                {
                    "symbol": ETH,
                    "order_type": "LIMIT",
                    "side": "BUY",
                    "order_price": "2900",
                    "order_quantity": "1",
                },
            )
            rows = (await trader.get("/v1/orders", symbol=ETH, status="INCOMPLETE")).data["rows"]
            assert [r["order_id"] for r in rows] == [ack.data["order_id"]]
            bad = await trader.get("/v1/orders", status="BOGUS")
            assert (bad.status, bad.code) == (400, -1005)

    async def test_percent_encoded_query_verifies_against_decoded_target(
        self, server_url: str
    ) -> None:
        made = _admin(server_url, "POST", "/sim/accounts", {"balance": "10"})
        async with httpx.AsyncClient(base_url=server_url) as http:
            trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
            signed = "/v1/orders?order_tag=enum:X&size=500"
            headers = trader.headers("GET", signed, "")
            reply = await http.get("/v1/orders?order_tag=enum%3AX&size=500", headers=headers)
            assert reply.status_code == 200 and reply.json()["success"] is True

    async def test_lost_response_drops_the_connection(self, server_url: str) -> None:
        made = _admin(server_url, "POST", "/sim/accounts", {"balance": "10000"})
        _admin(server_url, "POST", "/sim/faults", {"drop_response_rate": 1.0, "seed": 1})
        try:
            async with httpx.AsyncClient(base_url=server_url) as http:
                trader = SignedClient(http, made["account_id"], made["secret"], made["orderly_key"])
                with pytest.raises(httpx.RemoteProtocolError):
                    await trader.post(
                        "/v1/order",
                        {
                            "symbol": ETH,
                            "order_type": "LIMIT",
                            "side": "BUY",
                            "order_price": "2900",
                            "order_quantity": "1",
                            "client_order_id": "dropped",
                        },
                    )
        finally:
            _admin(server_url, "POST", "/sim/faults", {"drop_response_rate": 0.0})
        state = _admin(server_url, "GET", "/sim/state")
        mine = next(a for a in state["accounts"] if a["account_id"] == made["account_id"])
        assert [o["client_order_id"] for o in mine["open_orders"]] == ["dropped"]

    def test_cli_drives_the_server(
        self, server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RUNNER_SIM_ADMIN_TOKEN", TOKEN)
        with pytest.raises(SystemExit) as done:
            main(["sim", "price", "--url", server_url, "PERP_SOL_USDC", "123.456"])
        assert done.value.code == 0
        with pytest.raises(SystemExit) as done:
            main(["sim", "account", "create", "--url", server_url, "--balance", "50"])
        assert done.value.code == 0
        created = json.loads(capsys.readouterr().out.split("\n}\n", 1)[1])
        with pytest.raises(SystemExit) as done:
            main(["sim", "state", "--url", server_url])
        state = json.loads(capsys.readouterr().out)
        assert state["marks"]["PERP_SOL_USDC"] == "123.456"
        assert created["account_id"] in {a["account_id"] for a in state["accounts"]}


def test_serve_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as done:
        main(["sim", "serve", "--host", "0.0.0.0", "--state-dir", str(tmp_path)])
    assert done.value.code == 1


def test_make_server_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    app = create_app(state_dir=None, admin_token="x")
    with pytest.raises(ValueError, match="non-loopback"):
        make_server(app, "10.0.0.1", 8787)

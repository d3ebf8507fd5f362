"""Attacks on the simulator over real HTTP (`runner sim serve` on 127.0.0.1): every forged,
tampered, replayed or unauthenticated request is refused with Orderly's codes, admin routes
need the token, and the server refuses to listen beyond loopback unless told to."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from .helpers import RUNNER, RawSigner, ServedSim, envelope, free_port

ORDER = json.dumps(
    {
        "symbol": "PERP_ETH_USDC",
        "order_type": "LIMIT",
        "side": "BUY",
        "order_price": "2000",
        "order_quantity": "0.01",
        "client_order_id": "attack-probe-1",
    }
)


@pytest.fixture(scope="module")
def accounts(served_sim: ServedSim) -> tuple[RawSigner, RawSigner]:
    a = RawSigner(*served_sim.create_account())
    b = RawSigner(*served_sim.create_account())
    return a, b


@pytest.fixture
def http(served_sim: ServedSim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_sim.url, timeout=10) as client:
        yield client


def assert_refused(response: httpx.Response, code: int) -> None:
    body = envelope(response)
    assert response.status_code == 401, body
    assert body["success"] is False
    assert body["code"] == code, body


def open_orders(http: httpx.Client, signer: RawSigner) -> list[str]:
    target = "/v1/orders?status=INCOMPLETE"
    response = http.get(target, headers=signer.headers("GET", target))
    assert response.status_code == 200, response.text
    return [row["client_order_id"] for row in envelope(response)["data"]["rows"]]


def test_a_correctly_signed_request_is_accepted(http, accounts) -> None:
    a, _ = accounts
    response = http.get("/v1/positions", headers=a.headers("GET", "/v1/positions"))
    assert response.status_code == 200
    assert envelope(response)["success"] is True


def test_a_tampered_body_is_refused_and_places_nothing(http, accounts) -> None:
    a, _ = accounts
    headers = a.headers("POST", "/v1/order", ORDER)
    forged = ORDER.replace('"0.01"', '"5"')
    response = http.post("/v1/order", content=forged, headers=headers)
    assert_refused(response, -1001)
    assert "attack-probe-1" not in open_orders(http, a)


def test_a_tampered_path_is_refused(http, accounts) -> None:
    a, _ = accounts
    headers = a.headers("GET", "/v1/positions")
    assert_refused(http.get("/v1/client/holding", headers=headers), -1001)


def test_a_tampered_query_is_refused(http, accounts) -> None:
    a, _ = accounts
    headers = a.headers("GET", "/v1/orders?symbol=PERP_ETH_USDC")
    assert_refused(http.get("/v1/orders?symbol=PERP_BTC_USDC", headers=headers), -1001)


def test_a_tampered_timestamp_is_refused(http, accounts) -> None:
    a, _ = accounts
    headers = a.headers("GET", "/v1/positions")
    headers["orderly-timestamp"] = str(int(headers["orderly-timestamp"]) + 1)
    assert_refused(http.get("/v1/positions", headers=headers), -1001)


@pytest.mark.parametrize("offset_s", [-301, 301, -3600])
def test_a_request_signed_outside_the_300_s_window_is_refused(http, accounts, offset_s) -> None:
    a, _ = accounts
    ts = int((time.time() + offset_s) * 1000)
    headers = a.headers("POST", "/v1/order", ORDER, timestamp=ts)
    assert_refused(http.post("/v1/order", content=ORDER, headers=headers), -1001)
    assert "attack-probe-1" not in open_orders(http, a)


def test_a_key_registered_to_another_account_is_refused(http, accounts) -> None:
    a, b = accounts
    headers = b.headers("POST", "/v1/order", ORDER)  # b's key and signature ...
    headers["orderly-account-id"] = a.account_id  # ... claiming to act for a
    assert_refused(http.post("/v1/order", content=ORDER, headers=headers), -1002)
    assert "attack-probe-1" not in open_orders(http, a)


@pytest.mark.parametrize(
    "header", ["orderly-account-id", "orderly-key", "orderly-timestamp", "orderly-signature"]
)
def test_a_request_missing_an_auth_header_is_refused(http, accounts, header) -> None:
    a, _ = accounts
    headers = a.headers("GET", "/v1/positions")
    del headers[header]
    response = http.get("/v1/positions", headers=headers)
    body = envelope(response)
    assert response.status_code == 401, body
    assert body["code"] in (-1001, -1002), body


@pytest.mark.parametrize(
    "signature",
    ["", "not-a-signature", "A" * 86, "QUJD", "////" * 22],
)
def test_a_garbage_signature_is_refused(http, accounts, signature) -> None:
    a, _ = accounts
    headers = a.headers("GET", "/v1/positions")
    headers["orderly-signature"] = signature
    response = http.get("/v1/positions", headers=headers)
    body = envelope(response)
    assert response.status_code == 401, body
    assert body["code"] in (-1001, -1002), body


def test_a_signature_of_another_key_is_refused(http, accounts) -> None:
    a, b = accounts
    headers = a.headers("GET", "/v1/positions")
    headers["orderly-signature"] = b.headers("GET", "/v1/positions")["orderly-signature"]
    assert_refused(http.get("/v1/positions", headers=headers), -1001)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sim/state"),
        ("POST", "/sim/accounts"),
        ("POST", "/sim/prices"),
        ("POST", "/sim/faults"),
        ("POST", "/sim/clock"),
        ("POST", "/sim/balance"),
    ],
)
@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong-token", "reliability-admin-token", "Basic cmVsaWFiaWxpdHk="]
)
def test_admin_routes_refuse_a_missing_or_wrong_token(http, method, path, auth) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    body = json.dumps({"balance": "1000000"}) if method == "POST" else None
    response = http.request(method, path, content=body, headers=headers)
    payload = envelope(response)
    assert response.status_code == 401, payload
    assert payload["success"] is False


def test_admin_state_never_shows_a_secret(served_sim: ServedSim) -> None:
    account_id, secret, _key = served_sim.create_account()
    text = json.dumps(served_sim.admin("GET", "/sim/state"), default=str)
    assert account_id in text
    assert secret not in text
    assert secret.split(":", 1)[1] not in text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_refuses_a_non_loopback_host_without_binding(tmp_path, host) -> None:
    port = free_port()
    started = time.monotonic()
    argv = [*RUNNER, "sim", "serve", "--host", host, "--port", str(port)]
    done = subprocess.run(
        [*argv, "--state-dir", str(tmp_path)], capture_output=True, timeout=20, text=True
    )
    assert done.returncode != 0
    assert "loopback" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 10
    # nothing listens on that port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/public/futures", timeout=2)

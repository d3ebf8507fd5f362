"""Every recorded request of the official connector and ccxt is accepted; every negative
vector is rejected. Requests are replayed byte for byte (headers, target, body) with the
simulator's clock fixed at the vectors' timestamp."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport

# A copy of shared/vectors/signing_vectors.json, captured from the official connector and ccxt.
VECTORS_PATH = Path(__file__).resolve().parents[1] / "vectors" / "signing_vectors.json"
TOKEN = "vector-admin"


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
    return loaded


VECTORS = _load()
INPUTS = VECTORS["inputs"]
TS = int(INPUTS["timestamp_ms"])


def _positive_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for client_name, client in VECTORS["clients"].items():
        for group in ("cases", "extra_cases"):
            for name, case in client.get(group, {}).items():
                cases.append((f"{client_name}:{name}", case))
    return cases


POSITIVE = _positive_cases()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state_dir=tmp_path, admin_token=TOKEN, clock=lambda: TS, rate_limits=False)
    async with httpx.AsyncClient(
        transport=InProcessTransport(app), base_url="http://sim.test"
    ) as http:
        reply = await http.post(
            "/sim/accounts",
            headers={"Authorization": f"Bearer {TOKEN}"},
            content=json.dumps(
                {
                    "account_id": INPUTS["account_id"],
                    "orderly_key": INPUTS["orderly_key_header_value"],
                    "balance": "100000",
                }
            ),
        )
        assert reply.status_code == 200, reply.text
        yield http


async def _replay(
    http: httpx.AsyncClient, method: str, target: str, body: str, headers: dict[str, str]
) -> httpx.Response:
    send = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")}
    return await http.request(
        method, "http://sim.test" + target, content=body.encode() if body else None, headers=send
    )


def test_vectors_cover_both_clients_and_the_percent_decoded_case() -> None:
    names = [name for name, _ in POSITIVE]
    assert any(n.startswith("orderly-evm-connector") for n in names)
    assert any(n.startswith("ccxt") for n in names)
    assert any(c["signature_verified_against"].startswith("percent") for _, c in POSITIVE)


@pytest.mark.parametrize(("name", "case"), POSITIVE, ids=[n for n, _ in POSITIVE])
async def test_recorded_client_request_is_authenticated(
    client: httpx.AsyncClient, name: str, case: dict[str, Any]
) -> None:
    response = await _replay(
        client, case["http_method"], case["request_target"], case["body"], case["headers"]
    )
    payload = json.loads(response.content, parse_float=Decimal)
    assert response.status_code != 401, payload
    assert payload.get("code") not in (-1001, -1002), payload


def _split_message(message: str) -> tuple[str, str, str, str]:
    ts, rest = message[:13], message[13:]
    for method in ("DELETE", "POST", "PUT", "GET"):
        if rest.startswith(method):
            rest = rest[len(method) :]
            break
    else:
        raise AssertionError(message)
    cut = rest.find("{")
    target, body = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
    return ts, method, target, body


@pytest.mark.parametrize(
    "vector", VECTORS["negative_vectors"], ids=[v["what"] for v in VECTORS["negative_vectors"]]
)
async def test_negative_vector_is_rejected_as_bad_signature(
    client: httpx.AsyncClient, vector: dict[str, Any]
) -> None:
    assert vector["must_verify"] is False
    ts, method, target, body = _split_message(vector["message"])
    headers = {
        "orderly-account-id": INPUTS["account_id"],
        "orderly-key": INPUTS["orderly_key_header_value"],
        "orderly-timestamp": ts,
        "orderly-signature": vector["signature"],
        "content-type": "application/json",
    }
    response = await _replay(client, method, target, body, headers)
    payload = response.json()
    assert (response.status_code, payload["code"]) == (401, -1001)
    assert payload["success"] is False


async def test_stale_timestamp_is_rejected_even_with_a_valid_signature(tmp_path: Path) -> None:
    case = VECTORS["clients"]["orderly-evm-connector"]["cases"]["GET /v1/positions"]
    later = TS + 300_001
    app = create_app(state_dir=tmp_path, admin_token=TOKEN, clock=lambda: later, rate_limits=False)
    async with httpx.AsyncClient(
        transport=InProcessTransport(app), base_url="http://sim.test"
    ) as http:
        await http.post(
            "/sim/accounts",
            headers={"Authorization": f"Bearer {TOKEN}"},
            content=json.dumps(
                {
                    "account_id": INPUTS["account_id"],
                    "orderly_key": INPUTS["orderly_key_header_value"],
                    "balance": "1",
                }
            ),
        )
        response = await _replay(http, "GET", case["request_target"], "", case["headers"])
    assert (response.status_code, response.json()["code"]) == (401, -1001)


async def test_key_of_another_account_is_unauthorized(client: httpx.AsyncClient) -> None:
    case = VECTORS["clients"]["ccxt.woofipro"]["cases"]["GET /v1/positions"]
    headers = dict(case["headers"])
    headers["orderly-account-id"] = "0x" + "00" * 32
    response = await _replay(client, "GET", case["request_target"], "", headers)
    assert (response.status_code, response.json()["code"]) == (401, -1002)


async def test_public_route_ignores_stale_auth_headers(client: httpx.AsyncClient) -> None:
    headers = {
        "orderly-account-id": "0xnot-an-account",
        "orderly-key": "ed25519:junk",
        "orderly-timestamp": "1",
        "orderly-signature": "junk",
    }
    response = await client.get("/v1/public/info", headers=headers)
    assert response.status_code == 200
    assert response.json()["success"] is True

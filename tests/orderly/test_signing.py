"""Signing reproduces the signatures the official clients produce, byte for byte."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.errors import ConfigError
from runner.orderly.signing import (
    OrderlyAuth,
    Signer,
    generate_secret,
    signed_message,
    verify_signature,
)

# A copy of shared/vectors/signing_vectors.json, captured from the official connector and ccxt.
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "signing_vectors.json").read_text(
        encoding="utf-8"
    )
)
INPUTS = VECTORS["inputs"]


def _all_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for client, spec in VECTORS["clients"].items():
        for group in ("cases", "extra_cases"):
            for name, case in spec.get(group, {}).items():
                cases.append((f"{client}: {name}", case))
    return cases


CASES = _all_cases()


def _raw(signature: str) -> bytes:
    text = signature.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize(
    "secret",
    [
        INPUTS["connector_orderly_secret"],
        INPUTS["ccxt_secret"],
        INPUTS["ed25519_seed_hex"],
        "  " + INPUTS["ccxt_secret"] + "\n",
    ],
)
def test_every_secret_spelling_gives_the_vectors_orderly_key(secret: str) -> None:
    assert Signer(secret).orderly_key == INPUTS["orderly_key_header_value"]
    assert Signer(secret).public_key.hex() == INPUTS["public_key_hex"]


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_signer_reproduces_every_recorded_signature(name: str, case: dict[str, Any]) -> None:
    signer = Signer(INPUTS["connector_orderly_secret"])
    ours = signer.sign(case["message_signed"].encode("utf-8"))
    assert _raw(ours) == bytes.fromhex(case["signature_hex"])
    assert _raw(ours) == _raw(case["signature"])
    # url-safe alphabet, as the docs recommend (§2.4)
    assert "+" not in ours and "/" not in ours


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_recorded_signatures_verify_with_the_public_key(name: str, case: dict[str, Any]) -> None:
    key = INPUTS["orderly_key_header_value"]
    assert verify_signature(key, case["message_signed"].encode(), case["signature"])


@pytest.mark.parametrize(
    "vector", VECTORS["negative_vectors"], ids=[v["what"] for v in VECTORS["negative_vectors"]]
)
def test_negative_vectors_do_not_verify(vector: dict[str, Any]) -> None:
    key = INPUTS["orderly_key_header_value"]
    assert vector["must_verify"] is False
    assert not verify_signature(key, vector["message"].encode(), vector["signature"])
    ours = Signer(INPUTS["ccxt_secret"]).sign(vector["message"].encode())
    assert _raw(ours) != _raw(vector["signature"])


@pytest.mark.parametrize(
    "case_name",
    [
        "GET /v1/orders?symbol=PERP_ETH_USDC&status=INCOMPLETE",
        "DELETE /v1/order",
        "GET /v1/client/leverage?symbol=PERP_ETH_USDC",
    ],
)
def test_auth_flow_signs_the_request_target_exactly_as_sent(case_name: str) -> None:
    case = VECTORS["clients"]["orderly-evm-connector"]["extra_cases"][case_name]
    request = httpx.Request(case["http_method"], "https://api.example" + case["request_target"])
    _sign(request)
    assert request.headers["orderly-timestamp"] == "1700000000000"
    assert request.headers["orderly-account-id"] == INPUTS["account_id"]
    assert request.headers["orderly-key"] == INPUTS["orderly_key_header_value"]
    assert _raw(request.headers["orderly-signature"]) == bytes.fromhex(case["signature_hex"])


def test_auth_flow_signs_the_body_bytes_exactly_as_sent() -> None:
    case = VECTORS["clients"]["ccxt.woofipro"]["cases"]["POST /v1/order"]
    request = httpx.Request("POST", "https://api.example/v1/order", content=case["body"].encode())
    _sign(request)
    assert signed_message(1700000000000, request) == case["message_signed"].encode()
    assert _raw(request.headers["orderly-signature"]) == bytes.fromhex(case["signature_hex"])


def _sign(request: httpx.Request) -> None:
    auth = OrderlyAuth(
        INPUTS["account_id"], Signer(INPUTS["ccxt_secret"]), clock=lambda: 1700000000.0
    )
    flow = auth.sync_auth_flow(request)
    assert next(flow) is request


def test_generated_secret_round_trips_and_signs() -> None:
    secret = generate_secret()
    assert secret.startswith("ed25519:")
    signer = Signer(secret)
    assert verify_signature(signer.orderly_key, b"hello", signer.sign(b"hello"))
    assert generate_secret() != secret


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ed25519:",
        "not base58 0OIl",
        INPUTS["ccxt_secret"][:-4],
        INPUTS["ccxt_secret"] + "zz",
        INPUTS["ed25519_seed_hex"][:-2] + "zz",
    ],
)
def test_malformed_secret_is_a_config_error_that_does_not_quote_it(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        Signer(bad)
    if len(bad) > 10:
        assert bad.removeprefix("ed25519:")[:10] not in str(info.value)


def test_secret_appears_in_no_repr_str_or_pickle() -> None:
    secret = INPUTS["connector_orderly_secret"]
    seed58 = INPUTS["ccxt_secret"]
    signer = Signer(secret)
    auth = OrderlyAuth(INPUTS["account_id"], signer)
    for text in (repr(signer), str(signer), repr(auth), str(auth)):
        assert seed58 not in text
        assert INPUTS["ed25519_seed_hex"] not in text
    assert not hasattr(signer, "__dict__")
    with pytest.raises(TypeError):
        pickle.dumps(signer)

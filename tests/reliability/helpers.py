"""Helpers of the reliability tests: the bench modules on sys.path, a simulator served over
HTTP on 127.0.0.1 by `runner sim serve` (a real subprocess), and a request signer that lets a
test tamper with what it signs."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import base58
import httpx
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

RUNNER = [sys.executable, "-c", "from runner.cli.main import main; main()"]
ADMIN_TOKEN = "reliability-admin-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedSim:
    url: str
    token: str
    state_dir: Path
    proc: subprocess.Popen[bytes]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body or {}).encode() if method == "POST" else None
        response = httpx.request(
            method,
            self.url + path,
            content=content,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        payload = json.loads(response.content, parse_float=Decimal)
        assert payload.get("success"), payload
        return payload.get("data")

    def create_account(self, balance: str = "10000") -> tuple[str, str, str]:
        data = self.admin("POST", "/sim/accounts", {"balance": balance})
        return data["account_id"], data["secret"], data["orderly_key"]


class RawSigner:
    """Signs `timestamp + method + path?query + body` with an account's ed25519 secret, so a
    test can sign one request and send another."""

    def __init__(self, account_id: str, secret: str, orderly_key: str) -> None:
        raw = base58.b58decode(secret.split(":", 1)[1])
        self.key = SigningKey(raw[:32])
        self.account_id = account_id
        self.orderly_key = orderly_key

    def headers(
        self, method: str, target: str, body: str = "", timestamp: int | None = None
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
        signature = self.key.sign(f"{ts}{method}{target}{body}".encode()).signature
        return {
            "orderly-account-id": self.account_id,
            "orderly-key": self.orderly_key,
            "orderly-timestamp": ts,
            "orderly-signature": base64.urlsafe_b64encode(signature).decode(),
            "content-type": "application/json" if body else "application/x-www-form-urlencoded",
        }


def envelope(response: httpx.Response) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
    return payload


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def serve_sim(state_dir: Path) -> Iterator[ServedSim]:
    """Run `runner sim serve` on an ephemeral loopback port until the generator is closed."""
    port = free_port()
    argv = [*RUNNER, "sim", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--state-dir", str(state_dir), "--admin-token", ADMIN_TOKEN, "--no-rate-limits"]
    log = (state_dir / "serve.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    sim = ServedSim(f"http://127.0.0.1:{port}", ADMIN_TOKEN, state_dir, proc)
    deadline = time.monotonic() + 20
    while True:
        try:
            sim.admin("GET", "/sim/state")
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("runner sim serve did not start") from None
            time.sleep(0.05)
    try:
        yield sim
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()

"""Harness of bench/third_party_clients.py: the simulator subprocess, its admin API, and the
PASS/FAIL step runner. It never imports a third-party client, so it runs in any venv that has
the project installed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOKEN = "third-party-admin-token"
DEADLINE_S = 110  # hard stop for the whole run
HTTP_TIMEOUT_S = 10
ETH = "PERP_ETH_USDC"
BTC = "PERP_BTC_USDC"
MARKS = {ETH: "3000", BTC: "95000", "PERP_SOL_USDC": "150"}


class Deadline(BaseException):
    """Raised by the alarm: not an Exception, so no step can swallow it."""


RESULTS: list[tuple[str, bool]] = []


def step(name: str, action: Callable[[], object]) -> Any:
    """Run one step; print PASS/FAIL; return the action's result (None on failure)."""
    try:
        result = action()
    except Exception as exc:  # a step failing must not stop the others
        detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        print(f"FAIL {name}: {detail[:400]}", flush=True)
        RESULTS.append((name, False))
        return None
    print(f"PASS {name}", flush=True)
    RESULTS.append((name, True))
    return result


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def ok(reply: Any) -> Any:
    """`data` of a success envelope; the connector hands HTTP 400 error bodies back as data."""
    check(isinstance(reply, dict), f"not a JSON object: {reply!r}")
    check(reply.get("success") is True, f"not a success reply: {reply}")
    return reply.get("data")


# ----- simulator process and admin API -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(state_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    runner = Path(sys.executable).parent / "runner"
    launcher = (
        [str(runner)]
        if runner.exists()
        else [sys.executable, "-c", "from runner.cli.main import main; main()"]
    )
    command = [
        *launcher,
        *("sim", "serve", "--host", "127.0.0.1", "--port", str(port)),
        *("--state-dir", str(state_dir), "--admin-token", TOKEN, "--no-rate-limits"),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited early: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/v1/public/system_info", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("simulator did not start within 20 s")


def admin(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as reply:
            return ok(json.loads(reply.read()))
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{path}: HTTP {exc.code} {exc.read()[:300]!r}") from None


def admin_state(url: str) -> Any:
    request = urllib.request.Request(
        url + "/sim/state", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as reply:
        return ok(json.loads(reply.read()))


def sim_leverage(url: str, account_id: str, symbol: str) -> Any:
    """The CROSS leverage the simulator holds (read over the admin API, not the client)."""
    (account,) = [a for a in admin_state(url)["accounts"] if a["account_id"] == account_id]
    leverages = account["leverages"]
    matches = [v for k, v in leverages.items() if symbol in k and "CROSS" in k]
    check(len(matches) == 1, f"no CROSS leverage for {symbol} in {leverages}")
    return matches[0]


def set_up(url: str) -> dict[str, Any]:
    account = admin(url, "/sim/accounts", {"balance": 10000})
    for name in ("account_id", "secret", "orderly_key"):
        check(bool(account.get(name)), f"/sim/accounts did not return {name}")
    admin(url, "/sim/market", {"frozen": True})
    for symbol, mark in MARKS.items():
        admin(url, "/sim/prices", {"symbol": symbol, "mark_price": mark})
    return dict(account)


# ----- official connector ------------------------------------------------------------------


def rows_of(data: Any) -> list[dict[str, Any]]:
    check(isinstance(data, dict) and isinstance(data.get("rows"), list), f"no rows: {data}")
    return list(data["rows"])

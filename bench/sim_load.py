"""Load test of `runner sim serve`: signed mixed requests per second and latency percentiles.

Starts the simulator as a subprocess on 127.0.0.1 (ephemeral port, temporary state dir, rate
limits off), creates an account, then runs two phases with httpx:
  1. closed loop: --requests requests over --processes x --concurrency workers -> req/s, p50, p99;
  2. open loop: --rate requests/s for --duration seconds -> p50, p99 at that rate.
The mix is reads (positions, orders, holding, public futures) and writes (place and cancel a
resting limit order, cancel all on the symbol).
Usage: python bench/sim_load.py --requests 4000 --processes 2 --concurrency 8 --rate 300
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import base58
import httpx
from nacl.signing import SigningKey

TOKEN = "bench-admin-token"
PHASE = [0]  # makes client_order_ids unique across phases
ETH = "PERP_ETH_USDC"


class Signer:
    def __init__(self, account_id: str, secret: str, orderly_key: str) -> None:
        self.account_id = account_id
        self.key = SigningKey(base58.b58decode(secret.split(":", 1)[1])[:32])
        self.orderly_key = orderly_key

    def headers(self, method: str, target: str, body: str) -> dict[str, str]:
        ts = str(int(time.time() * 1000))
        sig = self.key.sign(f"{ts}{method}{target}{body}".encode()).signature
        return {
            "orderly-account-id": self.account_id,
            "orderly-key": self.orderly_key,
            "orderly-timestamp": ts,
            "orderly-signature": base64.urlsafe_b64encode(sig).decode(),
            "content-type": "application/json",
        }


async def one_request(http: httpx.AsyncClient, signer: Signer, index: int) -> float:
    """One request of the mix; returns its latency in seconds."""
    kind = index % 6
    method, target, body = "GET", "/v1/positions", ""
    if kind == 1:
        method, target = "GET", f"/v1/orders?symbol={ETH}&status=INCOMPLETE"
    elif kind == 2:
        method, target = "GET", "/v1/client/holding"
    elif kind == 3:
        method, target = "GET", f"/v1/public/futures/{ETH}"
    elif kind == 4:
        method, target = "POST", "/v1/order"
        body = json.dumps(
            {
                "symbol": ETH,
                "order_type": "LIMIT",
                "side": "BUY",
                "order_price": "2000",
                "order_quantity": "0.01",
                "client_order_id": f"b{PHASE[0]}-{index}",
            }
        )
    elif kind == 5:
        # cancel-all keeps the book bounded whatever order the workers finish in
        method, target = "DELETE", f"/v1/orders?symbol={ETH}"
    started = time.perf_counter()
    reply = await http.request(
        method,
        target,
        content=body.encode() if body else None,
        headers=signer.headers(method, target, body),
    )
    elapsed = time.perf_counter() - started
    if reply.status_code != 200:
        raise RuntimeError(f"{method} {target}: {reply.status_code} {reply.text}")
    return elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def closed_loop(
    http: httpx.AsyncClient, signer: Signer, total: int, concurrency: int
) -> tuple[float, list[float]]:
    PHASE[0] += 1
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for index in counter:
            latencies.append(await one_request(http, signer, index))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def open_loop(
    http: httpx.AsyncClient, signer: Signer, rate: float, duration: float
) -> list[float]:
    PHASE[0] += 1
    count = int(rate * duration)
    start = time.perf_counter()
    tasks = []
    for index in range(count):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one_request(http, signer, index)))
    results = list(await asyncio.gather(*tasks))
    late = time.perf_counter() - start - duration
    print(f"open loop finished {late * 1000:.0f} ms after the last scheduled send")
    return results


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process (Linux /proc), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(state_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-c",
        "from runner.cli.main import main; main()",
        "sim",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--admin-token",
        TOKEN,
        "--no-rate-limits",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/v1/public/system_info", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("simulator did not start")


def admin(url: str, path: str, body: dict[str, Any]) -> Any:
    reply = httpx.post(
        url + path, content=json.dumps(body), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    reply.raise_for_status()
    return reply.json()["data"]


def _client_process(
    url: str, made: dict[str, str], total: int, concurrency: int, phase: int
) -> list[float]:
    """One load-generating process (the httpx client, not the server, is the bottleneck)."""
    PHASE[0] = phase * 1000

    async def go() -> list[float]:
        signer = Signer(made["account_id"], made["secret"], made["orderly_key"])
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            return (await closed_loop(http, signer, total, concurrency))[1]

    return asyncio.run(go())


async def run(args: argparse.Namespace, url: str) -> None:
    admin(url, "/sim/market", {"frozen": True})
    admin(url, "/sim/prices", {"symbol": ETH, "mark_price": "3000"})
    if args.symbols:
        admin(url, "/sim/symbols", {"count": args.symbols})
    made = admin(url, "/sim/accounts", {"balance": "1000000"})
    signer = Signer(made["account_id"], made["secret"], made["orderly_key"])
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        await closed_loop(http, signer, 60, 4)  # warm-up
        cpu_before = server_cpu_seconds(args.server_pid)
        started = time.perf_counter()
        share = args.requests // args.processes
        with ProcessPoolExecutor(args.processes) as pool:
            parts = [
                pool.submit(_client_process, url, made, share, args.concurrency, p + 1)
                for p in range(args.processes)
            ]
            latencies = [x for part in parts for x in part.result()]
        elapsed = time.perf_counter() - started
        server_cpu = server_cpu_seconds(args.server_pid) - cpu_before
        print(
            f"closed loop: {len(latencies)} requests, {args.processes} client processes x "
            f"concurrency {args.concurrency}: {len(latencies) / elapsed:.0f} req/s, "
            f"p50 {percentile(latencies, 0.5) * 1000:.2f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms; "
            f"server CPU {server_cpu / len(latencies) * 1e6:.0f} us/request"
        )
        opened = await open_loop(http, signer, args.rate, args.duration)
        print(
            f"open loop: {args.rate:.0f} req/s for {args.duration:.0f} s: "
            f"p50 {statistics.median(opened) * 1000:.2f} ms, "
            f"p99 {percentile(opened, 0.99) * 1000:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--processes", type=int, default=2, help="Client processes.")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--symbols", type=int, default=0, help="Extra synthetic symbols.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        process, url = start_server(Path(state))
        try:
            args.server_pid = process.pid
            asyncio.run(run(args, url))
        finally:
            process.terminate()
            process.wait(timeout=10)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""How many requests per second OrderlyClient sustains against the simulator.

Runs three workloads (signed reads, order create+cancel pairs, public reads) with client
budgets off and the simulator's rate limits off, in-process (httpx ASGI transport) and over
HTTP against `runner sim serve` on 127.0.0.1 (a separate process). Then shows what a budget
does: a burst of order reads with the default budgets on, the waits it reports, and no 429.

    /work/venv/bin/python bench/client_throughput.py [--requests 600] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import httpx

from runner.enums import OrderType, Side
from runner.orderly.client import OrderlyClient
from runner.orderly.ratelimit import RateLimiter, Wait
from runner.orderly.signing import Signer
from runner.orderly.types import OrderRequest
from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport

TOKEN = "bench-admin-token"
ETH = "PERP_ETH_USDC"


async def admin_call(http: httpx.AsyncClient, path: str, body: dict[str, object]) -> dict:
    response = await http.post(
        path, content=json.dumps(body).encode(), headers={"authorization": f"Bearer {TOKEN}"}
    )
    data: dict = response.json()["data"]
    return data


async def prepare(http: httpx.AsyncClient) -> tuple[str, str]:
    await admin_call(http, "/sim/market", {"frozen": True})
    await admin_call(http, "/sim/prices", {"symbol": ETH, "mark_price": "3000"})
    account = await admin_call(http, "/sim/accounts", {"balance": "100000000"})
    return account["account_id"], account["secret"]


async def run_workload(
    client: OrderlyClient, count: int, concurrency: int, step: Callable[[int], Awaitable[None]]
) -> float:
    """Requests per second over `count` steps run `concurrency` at a time."""
    queue = iter(range(count))
    before = client.request_count

    async def worker() -> None:
        for i in queue:
            await step(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return (client.request_count - before) / elapsed


async def measure(client: OrderlyClient, label: str, count: int, concurrency: int) -> None:
    async def signed_read(_: int) -> None:
        await client.get_positions()

    async def order_pair(i: int) -> None:
        ack = await client.create_order(
            OrderRequest(
                ETH,
                OrderType.LIMIT,
                Side.BUY,
                Decimal("0.01"),
                Decimal(2900) + Decimal(i % 50),
                client_order_id=f"bench-{label.replace('.', '')}-{i}",
            )
        )
        await client.cancel_order(ack.order_id, ETH)

    async def public_read(_: int) -> None:
        await client.get_futures()

    for name, step, steps in (
        ("signed reads (GET /v1/positions)", signed_read, count),
        ("order create+cancel", order_pair, count // 2),
        ("public reads (GET /v1/public/futures)", public_read, count),
    ):
        rate = await run_workload(client, steps, concurrency, step)
        print(f"  {label:<12} {name:<40} {rate:8.0f} req/s")


async def in_process(count: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(state_dir=Path(tmp), admin_token=TOKEN, rate_limits=False)
        transport = InProcessTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            account_id, secret = await prepare(http)
        async with OrderlyClient(
            "http://sim",
            account_id=account_id,
            signer=Signer(secret),
            transport=transport,
            rate_limiter=RateLimiter.unlimited(),
        ) as client:
            await measure(client, "in-process", count, concurrency)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def over_http(count: int, concurrency: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from runner.cli.main import main; main()",
                "sim",
                "serve",
                "--port",
                str(port),
                "--state-dir",
                tmp,
                "--admin-token",
                TOKEN,
                "--no-rate-limits",
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                for _ in range(100):
                    try:
                        account_id, secret = await prepare(http)
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                else:
                    raise RuntimeError("runner sim serve did not come up")
            async with OrderlyClient(
                url,
                account_id=account_id,
                signer=Signer(secret),
                rate_limiter=RateLimiter.unlimited(),
            ) as client:
                await measure(client, "127.0.0.1", count, concurrency)
        finally:
            server.terminate()
            server.wait(timeout=10)


async def budget_demo() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(state_dir=Path(tmp), admin_token=TOKEN, rate_limits=True)
        transport = InProcessTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            account_id, secret = await prepare(http)
        waits: list[Wait] = []
        limiter = RateLimiter(on_wait=waits.append)
        async with OrderlyClient(
            "http://sim",
            account_id=account_id,
            signer=Signer(secret),
            transport=transport,
            rate_limiter=limiter,
        ) as client:
            started = time.perf_counter()
            await asyncio.gather(*(client.get_orders() for _ in range(35)))
            elapsed = time.perf_counter() - started
            print(
                f"  35 concurrent GET /v1/orders with budgets on: {elapsed:.2f} s, "
                f"{client.request_count} requests (no 429 retries), {len(waits)} waits "
                f"reported, longest {max(w.seconds for w in waits):.2f} s "
                f"on budget '{waits[0].budget.name}'"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    print(f"{args.requests} requests per workload, concurrency {args.concurrency}")
    asyncio.run(in_process(args.requests, args.concurrency))
    if not args.skip_http:
        asyncio.run(over_http(args.requests, args.concurrency))
    asyncio.run(budget_demo())


if __name__ == "__main__":
    main()

"""Benchmark of reconcile (issue 8): requests and time, the runner against a naive script.

For each N it builds a playbook of N synthetic symbols (CROSS 5x, two resting BUY LIMIT entries
at 80% and 70% of the mark) and, on a fresh in-process simulator per measurement (Orderly's
rate limits ON, `--latency-ms` injected per request through POST /sim/faults, frozen marks,
the 11 shipped symbols plus `--listed` synthetic ones), measures:
  1. requests of a no-op reconcile (plan, then apply, on the synced account; symbol rules
     cached, and once more with the cache removed), from `OrderlyClient.request_count`;
  2. time and requests for the runner to converge from an empty account (apply until in sync);
  3. the same for bench/_naive.py (same client, same budgets), verified afterwards by a runner
     plan (not counted) that must find the account in sync.
Two starting accounts ("scenarios"): `subset`, every symbol at the exchange's default leverage
(10x), so the playbook covers part of what is listed and Orderly's batch leverage form would
change symbols outside it; `exact`, every symbol outside the playbook already at 5x and the
playbook's at 10x (the condition under which the runner may use the batch form).

Time. Leverage updates are budgeted 5 per 60 s, so a run can last many minutes. By default the
bench runs on the time-warping loop of bench/_warp.py: waits on timers are skipped and added to
a clock offset that the client's RateLimiter, the request signatures, the journal and the
simulator (create_app(clock=...)) all read; reported seconds = real time spent + time skipped.
`--real-clock` runs on the ordinary loop instead (use small sizes); at N = 1 and 6 both clocks
gave the same times within 0.1 s. The naive baseline sends through the same OrderlyClient
(same client-side budgets and retries), one call at a time.

    /work/venv/bin/python bench/reconcile.py [--sizes 1,10,50,100] [--latency-ms 20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx
from _naive import converge_naive
from _warp import BenchClock, Stopwatch, warped_loop

from runner.enums import MarginMode, OrderType, Side
from runner.journal import Journal
from runner.orderly.client import OrderlyClient
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer
from runner.playbook.model import OrderSpec, Playbook, SymbolSpec
from runner.reconcile.run import Exchange, Reconciler
from runner.sim.app import create_app
from runner.sim.symbols import load_symbols, synthetic_symbol
from runner.sim.transport import InProcessTransport

BASE_URL = "http://sim.bench"
TOKEN = "bench-admin-token"
LEVERAGE = 5
PRESET_LEVERAGE = 10  # the `exact` scenario's playbook symbols start here
ENTRY_LEVELS = (Decimal("0.80"), Decimal("0.70"))
ENTRY_NOTIONAL = Decimal(25)
MAX_APPLIES = 5
MEASURE_TIMEOUT_S = 4 * 3600.0  # on the bench clock: a bound, not an expectation
SCENARIOS = ("subset", "exact")


# -- the simulator --------------------------------------------------------------------------

_TEMPLATES = (
    (re.compile(r"^/v1/position/[^/]+$"), "/v1/position/{symbol}"),
    (re.compile(r"^/v1/client/order/[^/]+$"), "/v1/client/order/{client_order_id}"),
    (re.compile(r"^/v1/order/\d+$"), "/v1/order/{order_id}"),
)


def template_of(path: str) -> str:
    for pattern, template in _TEMPLATES:
        if pattern.match(path):
            return template
    return path


class CountingTransport(httpx.AsyncBaseTransport):
    """The in-process transport, tallying /v1 requests by endpoint and the 429s."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.tally: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.startswith("/v1/"):
            self.tally[f"{request.method} {template_of(request.url.path)}"] += 1
            if response.status_code == 429:
                self.tally["429"] += 1
        return response


@dataclass(slots=True)
class Sim:
    root: Path
    transport: CountingTransport
    admin: httpx.AsyncClient
    account_id: str = ""
    secret: str = ""
    clients: list[OrderlyClient] = field(default_factory=list)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.admin.request(
            method,
            path,
            content=json.dumps(body).encode() if body is not None else None,
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        payload = json.loads(response.content, parse_float=Decimal)
        if not payload.get("success"):
            raise RuntimeError(f"{method} {path}: {payload}")
        return payload.get("data")

    def client(self, clock: BenchClock) -> OrderlyClient:
        client = OrderlyClient(
            BASE_URL,
            account_id=self.account_id,
            signer=Signer(self.secret),
            transport=self.transport,
            rate_limiter=RateLimiter(clock=clock.monotonic),
            clock=clock.wall,
        )
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.admin.aclose()


async def open_sim(root: Path, clock: BenchClock, listed: int, latency_ms: int) -> Sim:
    """A fresh simulator with rate limits on, frozen marks and one well-funded account."""
    app = create_app(
        state_dir=root / "sim", admin_token=TOKEN, seed=0, clock=clock.sim_ms, rate_limits=True
    )
    transport = CountingTransport(InProcessTransport(app))
    sim = Sim(root, transport, httpx.AsyncClient(transport=transport, base_url=BASE_URL))
    await sim.call("POST", "/sim/market", {"frozen": True})
    await sim.call("POST", "/sim/symbols", {"count": listed})
    await sim.call("POST", "/sim/faults", {"latency_ms": latency_ms})
    account = await sim.call("POST", "/sim/accounts", {"balance": "1000000"})
    sim.account_id, sim.secret = account["account_id"], account["secret"]
    return sim


# -- the playbook ---------------------------------------------------------------------------


def bench_playbook(n: int, marks: dict[str, Decimal]) -> Playbook:
    specs = []
    for index in range(1, n + 1):
        rules = synthetic_symbol(index)
        mark = marks[rules.symbol]
        orders = []
        for key, level in enumerate(ENTRY_LEVELS, start=1):
            price = (mark * level / rules.quote_tick).to_integral_value(ROUND_FLOOR)
            price *= rules.quote_tick
            qty = (ENTRY_NOTIONAL / price / rules.base_tick).to_integral_value(ROUND_CEILING)
            qty *= rules.base_tick
            orders.append(OrderSpec(f"dip-{key}", Side.BUY, OrderType.LIMIT, qty, price))
        specs.append(SymbolSpec(rules.symbol, MarginMode.CROSS, LEVERAGE, tuple(orders)))
    return Playbook(name="bench", symbols=tuple(specs), source="<bench>")


async def read_marks(sim: Sim) -> dict[str, Decimal]:
    rows = (await sim.call("GET", "/v1/public/futures"))["rows"]
    return {row["symbol"]: Decimal(str(row["mark_price"])) for row in rows}


async def prepare_account(sim: Sim, clock: BenchClock, scenario: str, book: Playbook) -> None:
    """`exact`: every symbol at 5x except the playbook's, at 10x. Not measured; afterwards
    the bench waits out every budget window so the measurement starts with clean budgets."""
    if scenario == "exact":
        client = sim.client(clock)
        await client.set_leverage_all(LEVERAGE, MarginMode.CROSS)
        for spec in book.symbols:
            await client.set_leverage(PRESET_LEVERAGE, spec.symbol, MarginMode.CROSS)
        await asyncio.sleep(61)


# -- the measurements -----------------------------------------------------------------------


def reconciler(sim: Sim, clock: BenchClock, journal: Journal, messages: list[str]) -> Reconciler:
    exchange = Exchange(
        client=sim.client(clock),
        account_id=sim.account_id,
        network="sim",
        simulated=True,
        description="simulator (bench)",
        base_url=BASE_URL,
    )
    return Reconciler(exchange, journal, state_dir=sim.root / "state", progress=messages.append)


async def measure_runner(sim: Sim, clock: BenchClock, book: Playbook) -> dict[str, Any]:
    journal = Journal.open(sim.root / "state", clock=clock.wall)
    messages: list[str] = []
    runner = reconciler(sim, clock, journal, messages)
    client = runner.exchange.client
    try:
        before, tally = client.request_count, Counter(sim.transport.tally)
        watch = Stopwatch(clock)
        outcomes = []
        for _ in range(MAX_APPLIES):
            result = await runner.run(book, apply=True)
            outcomes.append(result.outcome)
            if result.outcome in ("applied", "in_sync"):
                break
        converge = {
            **watch.result(),
            "requests": client.request_count - before,
            "applies": len(outcomes),
            "outcomes": outcomes,
            "by_endpoint": dict(sim.transport.tally - tally),
        }
        noop: dict[str, Any] = {}
        for label, apply in (("plan", False), ("apply", True), ("plan_cold_rules", False)):
            if label == "plan_cold_rules" and runner.rules_cache.path is not None:
                runner.rules_cache.path.unlink(missing_ok=True)
            before = client.request_count
            result = await runner.run(book, apply=apply)
            noop[label] = client.request_count - before
            noop[f"{label}_outcome"] = result.outcome
        return {
            "converge": converge,
            "noop": noop,
            "batch_leverage": any("batch leverage" in m for m in messages),
        }
    finally:
        journal.close()


async def measure_naive(sim: Sim, clock: BenchClock, book: Playbook) -> dict[str, Any]:
    client = sim.client(clock)
    before, tally = client.request_count, Counter(sim.transport.tally)
    watch = Stopwatch(clock)
    done = await converge_naive(client, book, sleep=asyncio.sleep)
    converge = {
        **watch.result(),
        "requests": client.request_count - before,
        "by_endpoint": dict(sim.transport.tally - tally),
        "rate_limited_seen_by_script": done.rate_limited,
    }
    journal = Journal.open(sim.root / "verify", clock=clock.wall)
    try:
        check = await reconciler(sim, clock, journal, []).run(book, apply=False)
    finally:
        journal.close()
    return {"converge": converge, "verified": check.outcome}


async def measure(
    kind: str, n: int, scenario: str, clock: BenchClock, args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        sim = await open_sim(Path(tmp), clock, args.listed, args.latency_ms)
        try:
            book = bench_playbook(n, await read_marks(sim))
            await prepare_account(sim, clock, scenario, book)
            async with asyncio.timeout(MEASURE_TIMEOUT_S):
                if kind == "runner":
                    return await measure_runner(sim, clock, book)
                return await measure_naive(sim, clock, book)
        finally:
            await sim.close()


async def run_bench(args: argparse.Namespace, clock: BenchClock) -> list[dict[str, Any]]:
    rows = []
    for scenario in args.scenarios:
        for n in args.sizes:
            runner = await measure("runner", n, scenario, clock, args)
            naive = await measure("naive", n, scenario, clock, args)
            speedup = naive["converge"]["seconds"] / max(runner["converge"]["seconds"], 1e-9)
            rows.append(
                {
                    "n": n,
                    "scenario": scenario,
                    "runner": runner,
                    "naive": naive,
                    "speedup": round(speedup, 2),
                }
            )
            print(f"  done: {scenario} N={n}", file=sys.stderr)
    return rows


# -- output ---------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<8} {'N':>4} {'no-op req':>9} {'runner s':>9} {'runner req':>10} "
        f"{'batch lev':>9} {'naive s':>9} {'naive req':>9} {'speedup':>8}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        runner, naive = row["runner"], row["naive"]
        noop = f"{runner['noop']['plan']}/{runner['noop']['apply']}"
        lines.append(
            f"{row['scenario']:<8} {row['n']:>4} {noop:>9} "
            f"{runner['converge']['seconds']:>9.1f} {runner['converge']['requests']:>10} "
            f"{'yes' if runner['batch_leverage'] else 'no':>9} "
            f"{naive['converge']['seconds']:>9.1f} {naive['converge']['requests']:>9} "
            f"{row['speedup']:>7.1f}x"
        )
    lines.append(
        "no-op req: plan/apply on the synced account (symbol rules cached; +1 when cold); "
        "s: bench clock seconds"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--listed", type=int, default=100, help="synthetic symbols listed")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--real-clock", action="store_true", help="no time warp (slow)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not args.sizes or min(args.sizes) < 1 or max(args.sizes) > args.listed:
        parser.error(f"sizes must be between 1 and --listed ({args.listed})")
    if not set(args.scenarios) <= set(SCENARIOS):
        parser.error(f"scenarios are {', '.join(SCENARIOS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = BenchClock()
    factory: Callable[[], asyncio.AbstractEventLoop] = (
        asyncio.new_event_loop if args.real_clock else lambda: warped_loop(clock)
    )
    started = time.perf_counter()
    with asyncio.Runner(loop_factory=factory) as loop_runner:
        rows = loop_runner.run(run_bench(args, clock))
    document = {
        "bench": "reconcile",
        "version": 1,
        "clock": "real" if args.real_clock else "warped (real time + skipped waits)",
        "settings": {
            "latency_ms": args.latency_ms,
            "rate_limits": True,
            "listed_symbols": len(load_symbols()) + args.listed,
            "leverage": LEVERAGE,
            "margin_mode": "CROSS",
            "orders_per_symbol": len(ENTRY_LEVELS),
        },
        "results": rows,
        "bench_real_seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(document, separators=(",", ":")))
    else:
        print(table(rows))
        print(f"bench wall time: {document['bench_real_seconds']} s real ({document['clock']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

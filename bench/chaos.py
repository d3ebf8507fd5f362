"""Chaos bench: many applies of the shipped playbooks against a faulty in-process simulator.

Each shipped simulator playbook (quickstart, eth-isolated, multi-symbol) gets its own funded
account and journal. After one fault-free warm-up apply each, a few foreign orders are placed
on every account (one under another client_order_id prefix, one without an id). Then, --runs
times: the marks take a seeded random-walk step (so entries fill, margin rules act and
positions drift towards liquidation), faults are injected at --fault-rate (5xx replies, 429s,
latency, responses lost after the write committed, connection resets before the request was
processed), one playbook is applied, and the invariants of bench/_invariants.py are checked
against the simulator's full order history. Finally faults stop, the marks go back to where
they started, and every playbook must converge within two applies.

Usage: python bench/chaos.py [--runs N] [--fault-rate R] [--seed S] [--json]
Exit status: 0 when there were no duplicates, no violations and everything converged; else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _invariants as inv

from runner.enums import MarginMode, OrderType, Side
from runner.errors import RunnerError
from runner.journal import Journal
from runner.orderly.client import OrderlyClient
from runner.orderly.orders import OrderRequest
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer
from runner.playbook.build import load_playbook
from runner.playbook.model import Playbook
from runner.reconcile.run import Exchange, Reconciler, RunResult
from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport
from runner.sim.web import DROP_HEADER

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ("quickstart", "eth-isolated", "multi-symbol")
TOKEN = "chaos-admin-token"
BASE_URL = "http://sim.chaos"
WALK_BOUNDS = (0.75, 1.15)  # marks stay within these multiples of where they started
EPOCH = 25  # applies of one playbook between edits of it
FOREIGN_PRICE = Decimal("0.65")  # foreign orders rest this far under the mark: never filled
FOREIGN_QTY = {
    "PERP_ETH_USDC": Decimal("0.01"),
    "PERP_BTC_USDC": Decimal("0.001"),
    "PERP_SOL_USDC": Decimal("1"),
}


async def fast_sleep(_seconds: float) -> None:
    """Retry and budget waits cost nothing here: the simulator has no real clock to wait on."""
    await asyncio.sleep(0)


class ChaosTransport(httpx.AsyncBaseTransport):
    """The in-process simulator behind a flaky network.

    Adds connection resets before the simulator sees the request, turns the simulator's
    lost-response marker into a dropped connection, counts every fault the client met, and
    keeps the ground truth the journal cannot give: the margin ADDs the exchange committed.
    """

    def __init__(self, app: Any, rng: random.Random) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.rng = rng
        self.reset_rate = 0.0
        self.faults: Counter[str] = Counter()
        self.committed_adds: dict[str, list[tuple[float, Decimal]]] = {}
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.reset_rate and self.rng.random() < self.reset_rate:
            if self.rng.random() < 0.5:
                self.faults["connect_reset"] += 1
                raise httpx.ConnectError("connection reset before sending", request=request)
            self.faults["read_reset"] += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        response = await self._inner.handle_async_request(request)
        await response.aread()
        status = response.status_code
        if status >= 500:
            self.faults[f"http_{status}"] += 1
        elif status == 429:
            self.faults["http_429"] += 1
        if status == 200 and request.method == "POST" and request.url.path == "/v1/position_margin":
            self._ledger(request, response)
        if DROP_HEADER in response.headers:
            self.faults["lost_response"] += 1
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response

    def _ledger(self, request: httpx.Request, response: httpx.Response) -> None:
        body = json.loads(request.content, parse_float=Decimal)
        if not json.loads(response.content).get("success") or body.get("type") != "ADD":
            return
        account = request.headers.get("orderly-account-id", "")
        self.committed_adds.setdefault(account, []).append((time.time(), Decimal(body["amount"])))

    def committed_since(self, account_id: str, since: float) -> Decimal:
        rows = self.committed_adds.get(account_id, [])
        return sum((amount for t, amount in rows if t >= since), Decimal(0))

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(slots=True)
class Book:
    """One playbook on its own account."""

    name: str
    variants: list[Playbook]
    playbook: Playbook
    declared: inv.Declared
    ever_declared: inv.Declared
    account_id: str
    secret: str
    state_dir: Path
    journal: Journal
    reconciler: Reconciler
    foreign: list[inv.OrderRow] = field(default_factory=list)


@dataclass(slots=True)
class Tally:
    findings: dict[tuple[str, str, str], inv.Finding] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, found: list[inv.Finding]) -> None:
        for f in found:
            self.findings[f.identity()] = f

    def count(self, result: RunResult) -> None:
        self.outcomes[result.outcome] += 1
        for o in result.outcomes:
            self.actions[f"{o.action.type.value}:{o.status.value}"] += 1
            if o.status.value == "failed":
                self.failures[re.sub(r"[0-9.]+", "N", o.detail)[:160]] += 1


class Admin:
    def __init__(self, app: Any) -> None:
        self.http = httpx.AsyncClient(transport=InProcessTransport(app), base_url=BASE_URL)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body or {}, default=str).encode() if method == "POST" else None
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = await self.http.request(method, path, content=content, headers=headers)
        payload = json.loads(response.content, parse_float=Decimal)
        if not payload.get("success"):
            raise RuntimeError(f"{method} {path}: {payload}")
        return payload.get("data")

    async def faults(self, **kw: Any) -> None:
        await self.call("POST", "/sim/faults", kw)


class Walk:
    """Seeded random walk of the marks, bounded around where they started."""

    def __init__(self, start: dict[str, Decimal], rng: random.Random) -> None:
        self.start = start
        self.level = dict.fromkeys(start, 1.0)
        self.rng = rng

    def step(self) -> dict[str, Decimal]:
        low, high = WALK_BOUNDS
        shock = self.rng.random() < 0.05
        for symbol in self.level:
            move = self.rng.gauss(0.0, 0.02) - (0.08 if shock else 0.0)
            level = self.level[symbol] * math.exp(move)
            # reflect at the bounds so the walk keeps visiting the entries and the liq zones
            if level < low:
                level = low * low / level
            if level > high:
                level = high * high / level
            self.level[symbol] = min(max(level, low), high)
        return self.marks()

    def marks(self) -> dict[str, Decimal]:
        return {
            s: (self.start[s] * Decimal(str(round(lv, 4)))).quantize(Decimal("0.1"))
            for s, lv in self.level.items()
        }


def _client(app_transport: httpx.AsyncBaseTransport, account_id: str, secret: str) -> OrderlyClient:
    return OrderlyClient(
        BASE_URL,
        account_id=account_id,
        signer=Signer(secret),
        transport=app_transport,
        rate_limiter=RateLimiter.unlimited(),
        sleep=fast_sleep,
    )


def foreign_orders(playbook: Playbook, name: str, marks: dict[str, Decimal]) -> list[OrderRequest]:
    """Orders runner must never touch: one under another prefix, one with no id at all."""
    slots = [(s.symbol, s.margin_mode) for s in playbook.symbols if s.symbol in FOREIGN_QTY]
    return [
        OrderRequest(
            symbol=symbol,
            order_type=OrderType.LIMIT,
            side=Side.BUY,
            order_quantity=FOREIGN_QTY[symbol],
            order_price=(marks[symbol] * FOREIGN_PRICE).quantize(Decimal(1)),
            client_order_id=f"manual-{name[:6]}-{n}" if n == 0 else None,
            margin_mode=MarginMode(mode),
        )
        for n, (symbol, mode) in enumerate((slots[0], slots[-1]))
    ]


async def _place_foreign(app: Any, book: Book, marks: dict[str, Decimal]) -> None:
    async with _client(InProcessTransport(app), book.account_id, book.secret) as client:
        for request in foreign_orders(book.playbook, book.name, marks):
            await client.create_order(request)


async def _apply(book: Book, tally: Tally) -> RunResult | None:
    try:
        result = await book.reconciler.run(book.playbook, apply=True)
    except RunnerError as exc:
        tally.outcomes["error"] += 1
        tally.errors[type(exc).__name__] += 1
        return None
    except Exception as exc:
        tally.outcomes["error"] += 1
        tally.errors[type(exc).__name__] += 1
        detail = "".join(traceback.format_exception_only(exc)).strip()
        if isinstance(exc, BaseExceptionGroup):
            inner = ", ".join(f"{type(e).__name__}: {e}" for e in exc.exceptions)
            detail = f"{detail} [{inner}]"
        detail = f"{detail[:300]} (in {_where(exc)})"
        tally.add([inv.Finding("unexpected_exception", book.account_id, detail)])
        return None
    tally.count(result)
    return result


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/runner/" in f.filename]
    last = (ours or frames)[-1] if (ours or frames) else None
    return f"{Path(last.filename).name}:{last.name}" if last else "?"


def _check(
    app: Any,
    book: Book,
    books: list[Book],
    transport: ChaosTransport,
    result: RunResult | None,
    added: Decimal,
) -> list[inv.Finding]:
    snap = inv.ExchangeSnapshot.from_engine(app.state.sim)
    orders = snap.orders.get(book.account_id, [])
    found = inv.check_duplicates(book.account_id, orders, book.ever_declared)
    # A run that failed may leave a stale order for the next one; one that says the account
    # matches (or was made to match) the playbook must not.
    if result is not None and result.outcome in ("applied", "in_sync"):
        found += inv.check_open_subset(book.account_id, orders, book.declared)
    found += inv.check_order_guards(book.account_id, orders, book.ever_declared)
    positions = snap.positions.get(book.account_id, [])
    found += inv.check_isolated_margin(book.account_id, positions, book.declared, added)
    day_ago_ms = int((time.time() - 86400) * 1000)
    adds = inv.journal_margin_adds(book.state_dir, book.account_id, book.playbook.name, day_ago_ms)
    committed = transport.committed_since(book.account_id, time.time() - 86400)
    found += inv.check_margin_budget(book.account_id, book.declared, adds, committed)
    for other in books:
        found += inv.check_foreign(
            other.foreign, snap.orders.get(other.account_id, []), snap.liquidations
        )
    return found


async def run_chaos(
    runs: int, fault_rate: float, seed: int, workdir: Path, progress: bool = False
) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(seed)
    app = create_app(state_dir=workdir / "sim", admin_token=TOKEN, seed=seed, rate_limits=False)
    admin = Admin(app)
    transport = ChaosTransport(app, random.Random(seed + 1))
    await admin.call("POST", "/sim/market", {"frozen": True})
    state = await admin.call("GET", "/sim/state")
    start_marks = {s: Decimal(str(m)) for s, m in state["marks"].items()}
    books: list[Book] = []
    for name in PLAYBOOKS:
        playbook = load_playbook(ROOT / "playbooks" / f"{name}.yaml")
        created = await admin.call("POST", "/sim/accounts", {"balance": "10000"})
        state_dir = workdir / name
        journal = Journal.open(state_dir)
        client = _client(transport, created["account_id"], created["secret"])
        exchange = Exchange(client, created["account_id"], "sim", True, "chaos bench", BASE_URL)
        reconciler = Reconciler(exchange, journal, state_dir=state_dir)
        variants = edits_of(playbook)
        ever = inv.Declared.union([inv.Declared.of(v) for v in variants])
        books.append(
            Book(
                name,
                variants,
                playbook,
                inv.Declared.of(playbook),
                ever,
                created["account_id"],
                created["secret"],
                state_dir,
                journal,
                reconciler,
            )
        )
    walk = Walk({s: start_marks[s] for s in _symbols(books)}, rng)
    tally = Tally()
    for book in books:  # warm-up, fault-free: not counted
        await book.reconciler.run(book.playbook, apply=True)
    for book in books:
        await _place_foreign(app, book, walk.marks())
    snap = inv.ExchangeSnapshot.from_engine(app.state.sim)
    for book in books:
        book.foreign = [
            r
            for r in snap.orders[book.account_id]
            if r.is_open and not book.declared.ours(r.client_order_id)
        ]

    for i in range(runs):
        book = books[i % len(books)]
        turn = i // len(books)
        book.playbook = book.variants[(turn // EPOCH) % len(book.variants)]
        book.declared = inv.Declared.of(book.playbook)
        for symbol, mark in walk.step().items():
            await admin.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": str(mark)})
        latency = rng.choice((0, 0, 0, 1, 2))
        await admin.faults(
            error_rate=fault_rate,
            rate_limit_rate=fault_rate / 2,
            drop_response_rate=fault_rate / 2,
            latency_ms=latency,
            seed=seed * 1_000_003 + i,
        )
        if latency:
            transport.faults["latency_runs"] += 1
        transport.reset_rate = fault_rate / 2
        before = transport.committed_since(book.account_id, 0)
        result = await _apply(book, tally)
        transport.reset_rate = 0.0
        await admin.faults(error_rate=0, rate_limit_rate=0, drop_response_rate=0, latency_ms=0)
        added = transport.committed_since(book.account_id, 0) - before
        tally.add(_check(app, book, books, transport, result, added))
        if progress and (i + 1) % 50 == 0:
            print(f"  {i + 1}/{runs} runs, {len(tally.findings)} findings", file=sys.stderr)

    # Faults stop, the marks go home and the playbooks are the shipped ones again: every
    # playbook must settle within two applies.
    for book in books:
        book.playbook = book.variants[0]
        book.declared = inv.Declared.of(book.playbook)
    for symbol, mark in start_marks.items():
        if symbol in walk.start:
            await admin.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": str(mark)})
    convergence: dict[str, Any] = {}
    for book in books:
        convergence[book.name] = await _converge(book, tally)
    for book in books:
        tally.add(_check(app, book, books, transport, None, Decimal(0)))
    converged = all(c["converged"] for c in convergence.values())

    snap = inv.ExchangeSnapshot.from_engine(app.state.sim)
    duplicates, violations = inv.split(tally.findings.values())
    faults = dict(sorted(transport.faults.items()))
    report = {
        "bench": "chaos",
        "runs": runs,
        "fault_rate": fault_rate,
        "seed": seed,
        "faults_injected": sum(v for k, v in faults.items() if k != "latency_runs"),
        "faults_by_kind": faults,
        "duplicates": len(duplicates),
        "violations": len(violations),
        "converged": converged,
        "convergence": convergence,
        "outcomes": dict(sorted(tally.outcomes.items())),
        "actions": dict(sorted(tally.actions.items())),
        "errors": dict(sorted(tally.errors.items())),
        "failed_writes": dict(tally.failures.most_common(8)),
        "margin_added_24h": {
            b.name: _margin_report(b, transport) for b in books if b.declared.playbook.guards
        },
        "orders_total": sum(len(snap.orders.get(b.account_id, [])) for b in books),
        "orders_filled": sum(
            1 for b in books for r in snap.orders.get(b.account_id, []) if r.executed > 0
        ),
        "liquidations": len(snap.liquidations),
        "requests": transport.requests,
        "findings_by_kind": dict(Counter(f.kind for f in duplicates + violations)),
        "findings": _sample(duplicates + violations),
        "all_findings": [f.to_json() for f in duplicates + violations],
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    for book in books:
        await book.reconciler.exchange.client.aclose()
        book.journal.close()
    await admin.http.aclose()
    return report


def edits_of(playbook: Playbook) -> list[Playbook]:
    """The shipped playbook, then the same with every entry 1% lower (new ids: cancel and
    replace), then the same halted (resting entries cancelled, no new risk)."""

    def lower(order: Any) -> Any:
        if order.price is None or order.reduce_only:
            return order
        return dataclasses.replace(
            order, price=(order.price * Decimal("0.99")).quantize(Decimal(1))
        )

    moved = dataclasses.replace(
        playbook,
        symbols=tuple(
            dataclasses.replace(s, orders=tuple(lower(o) for o in s.orders))
            for s in playbook.symbols
        ),
    )
    return [playbook, moved, dataclasses.replace(playbook, halt=True)]


def _sample(findings: list[inv.Finding], per_kind: int = 3) -> list[dict[str, str]]:
    shown: Counter[str] = Counter()
    out = []
    for f in findings:
        shown[f.kind] += 1
        if shown[f.kind] <= per_kind:
            out.append(f.to_json())
    return out


def _symbols(books: list[Book]) -> list[str]:
    return sorted({s.symbol for b in books for s in b.playbook.symbols})


def _margin_report(book: Book, transport: ChaosTransport) -> dict[str, Any]:
    since_ms = int((time.time() - 86400) * 1000)
    adds = inv.journal_margin_adds(book.state_dir, book.account_id, book.playbook.name, since_ms)
    return {
        "guard": _num(book.playbook.guards.max_margin_added_per_day),
        "journal_budgeted": _num(adds.budgeted),
        "journal_maybe_landed": _num(adds.maybe_landed),
        "committed": _num(transport.committed_since(book.account_id, time.time() - 86400)),
    }


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


async def _converge(book: Book, tally: Tally) -> dict[str, Any]:
    """Up to two fault-free applies, then a plan that must hold no actions."""
    outcomes: list[str] = []
    for _ in range(2):
        result = await _apply(book, tally)
        outcomes.append(result.outcome if result else "error")
        if result is not None and result.outcome in ("in_sync", "applied"):
            break
    try:
        plan, _state = await book.reconciler.plan(book.playbook)
    except RunnerError as exc:
        return {"converged": False, "applies": outcomes, "error": str(exc)}
    # A plan a guard refuses is stable too: runner will not act on it until someone does.
    return {
        "converged": not plan.has_changes or plan.blocked_by_guard,
        "applies": outcomes,
        "remaining_actions": len(plan.actions),
        "guard_violations": list(plan.guard_violations),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    workdir = Path(tempfile.mkdtemp(prefix="runner-chaos-", dir=base))
    try:
        report = asyncio.run(
            run_chaos(args.runs, args.fault_rate, args.seed, workdir, progress=not args.json)
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    del report["all_findings"]  # the sample per kind is enough to read
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    ok = report["duplicates"] == 0 and report["violations"] == 0 and report["converged"]
    return 0 if ok else 1


def _print_text(report: dict[str, Any]) -> None:
    print(
        f"{report['runs']} runs in {report['elapsed_s']} s, {report['faults_injected']} faults "
        f"injected: {report['duplicates']} duplicates, {report['violations']} violations, "
        f"converged: {report['converged']}"
    )
    print(f"outcomes: {report['outcomes']}")
    print(f"faults: {report['faults_by_kind']}")
    for finding in report["findings"]:
        print(f"  {finding['kind']}: {finding['account_id'][:10]} {finding['detail']}")


if __name__ == "__main__":
    sys.exit(main())

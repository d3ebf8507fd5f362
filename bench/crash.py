"""Crash bench: `runner apply` killed with SIGKILL at random points, then run again.

A real `runner sim serve` runs on 127.0.0.1 (ephemeral port, its own state dir, no rate
limits); each shipped simulator playbook (quickstart, eth-isolated, multi-symbol) has its own
account and state dir, and gets one clean apply before foreign orders are placed on its
account. Each trial moves the marks (seeded random walk), sets small latency and fault rates
so that a run spans a second or so, starts `runner apply --auto-approve` as a subprocess and
kills it with SIGKILL after a random delay: before the run, while observing, with a write in
flight, between waves or after the run (where it died is read back from the journal). Then
apply runs again, uninterrupted, and the invariants of bench/_invariants.py are checked on
the simulator's full order history (read from its SQLite store). At the end faults stop, the
marks go home, and each playbook must converge within two applies.

Usage: python bench/crash.py [--trials N] [--seed S] [--json]
Exit status: 0 when there were no duplicates, no violations and everything converged; else 1.
Every subprocess is bounded in time; the server is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _invariants as inv
from chaos import PLAYBOOKS, Walk, foreign_orders

from runner.journal import JOURNAL_FILENAME
from runner.orderly.client import OrderlyClient
from runner.orderly.signing import Signer
from runner.playbook.build import load_playbook
from runner.playbook.model import Playbook
from runner.sim.app import DB_FILE

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "crash-admin-token"
RUNNER = [sys.executable, "-c", "from runner.cli.main import main; main()"]
APPLY_TIMEOUT_S = 90.0
# Seconds before the kill. Start-up and imports take ~0.35 s; with the injected latency a run
# then takes about 0.3-1 s, so the kills spread over start-up, observation, waves and the end.
KILL_DELAY_S = (0.3, 0.9)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`runner sim serve` as a subprocess, with a synchronous admin client."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = workdir / "sim"
        self.log = (workdir / "sim.log").open("wb")
        argv = [*RUNNER, "sim", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--state-dir", str(self.state_dir), "--admin-token", TOKEN]
        argv += ["--seed", str(seed), "--no-rate-limits"]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.call("GET", "/sim/state")
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.05)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body or {}, default=str).encode() if method == "POST" else None
        response = self.http.request(
            method, path, content=content, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        payload = json.loads(response.content, parse_float=Decimal)
        if not payload.get("success"):
            raise RuntimeError(f"{method} {path}: {payload}")
        return payload.get("data")

    def snapshot(self) -> inv.ExchangeSnapshot:
        return inv.ExchangeSnapshot.from_store(self.state_dir / DB_FILE)

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@dataclass(slots=True)
class Book:
    name: str
    variants: list[Path]
    path: Path
    playbook: Playbook
    declared: inv.Declared
    ever_declared: inv.Declared
    account_id: str
    secret: str
    state_dir: Path
    foreign: list[inv.OrderRow] = field(default_factory=list)

    def env(self, url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERLY_", "RUNNER_"))}
        env.update(
            ORDERLY_BASE_URL=url,
            ORDERLY_ACCOUNT_ID=self.account_id,
            ORDERLY_SECRET=self.secret,
            RUNNER_STATE_DIR=str(self.state_dir),
        )
        return env


@dataclass(slots=True)
class Proc:
    rc: int | None
    stdout: str
    stderr: str
    killed: bool
    elapsed: float


def apply(book: Book, url: str, kill_after: float | None = None) -> Proc:
    argv = [*RUNNER, "apply", str(book.path), "--auto-approve"]
    proc = subprocess.Popen(
        argv,
        env=book.env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=book.state_dir,
    )
    killed = False
    started = time.monotonic()
    try:
        out, err = proc.communicate(timeout=kill_after if kill_after else APPLY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: no handler, no finally, no flush
        killed = kill_after is not None
        out, err = proc.communicate()  # reaps it: a zombie would still look alive to the lock
    elapsed = time.monotonic() - started
    return Proc(None if killed else proc.returncode, out.decode(), err.decode(), killed, elapsed)


def plan_json(book: Book, url: str) -> tuple[int, dict[str, Any] | None, str]:
    argv = [*RUNNER, "plan", str(book.path), "--json"]
    done = subprocess.run(
        argv, env=book.env(url), capture_output=True, timeout=APPLY_TIMEOUT_S, cwd=book.state_dir
    )
    try:
        document = json.loads(done.stdout)
    except ValueError:
        document = None
    return done.returncode, document, done.stderr.decode()


def write_variants(path: Path, folder: Path) -> list[Path]:
    """The shipped playbook, the same with every entry 1% lower (new ids: cancel and
    replace), and the same halted (resting entries cancelled, no new risk)."""
    folder.mkdir(exist_ok=True)
    document = yaml.safe_load(path.read_text())
    lower = json.loads(json.dumps(document))
    for blocks in lower["symbols"].values():
        for block in blocks if isinstance(blocks, list) else [blocks]:
            for order in block.get("orders", []):
                if "price" in order and not order.get("reduce_only"):
                    order["price"] = int(Decimal(str(order["price"])) * Decimal("0.99"))
    halted = {**document, "halt": True}
    out = [path]
    for suffix, doc in (("lower", lower), ("halted", halted)):
        target = folder / f"{path.stem}-{suffix}.yaml"
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append(target)
    return out


def died_at(book: Book, since_ms: int) -> str:
    """Where the killed apply was, read from its journal."""
    path = book.state_dir / JOURNAL_FILENAME
    if not path.exists():
        return "before_run"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        run = conn.execute(
            "SELECT run_id, finished_at FROM runs WHERE account_id = ? AND started_at_ms >= ? "
            "ORDER BY run_id DESC LIMIT 1",
            (book.account_id, since_ms),
        ).fetchone()
        if run is None:
            return "before_run"
        if run[1] is not None:
            return "after_run"
        intents = conn.execute(
            "SELECT action_type, status FROM intents WHERE run_id = ? ORDER BY intent_id",
            (run[0],),
        ).fetchall()
    if not intents:
        return "observing"
    in_flight = [a for a, status in intents if status is None]
    if in_flight:
        return f"write_in_flight:{in_flight[-1]}"
    return f"after_write:{intents[-1][0]}"


def _margin_adds_since(book: Book, since_ms: int) -> Decimal:
    return inv.journal_margin_adds(
        book.state_dir, book.account_id, book.playbook.name, since_ms
    ).maybe_landed


def check(server: Server, book: Book, books: list[Book], added: Decimal) -> list[inv.Finding]:
    snap = server.snapshot()
    orders = snap.orders.get(book.account_id, [])
    found = inv.check_duplicates(book.account_id, orders, book.ever_declared)
    found += inv.check_order_guards(book.account_id, orders, book.ever_declared)
    positions = snap.positions.get(book.account_id, [])
    found += inv.check_isolated_margin(book.account_id, positions, book.declared, added)
    day_ago_ms = int((time.time() - 86400) * 1000)
    adds = inv.journal_margin_adds(book.state_dir, book.account_id, book.playbook.name, day_ago_ms)
    found += inv.check_margin_budget(book.account_id, book.declared, adds, None)
    for other in books:
        found += inv.check_foreign(
            other.foreign, snap.orders.get(other.account_id, []), snap.liquidations
        )
    return found


def subset(server: Server, book: Book) -> list[inv.Finding]:
    orders = server.snapshot().orders.get(book.account_id, [])
    return inv.check_open_subset(book.account_id, orders, book.declared)


async def _place_foreign(url: str, book: Book, marks: dict[str, Decimal]) -> None:
    async with OrderlyClient(url, account_id=book.account_id, signer=Signer(book.secret)) as c:
        for request in foreign_orders(book.playbook, book.name, marks):
            await c.create_order(request)


@dataclass(slots=True)
class Tally:
    findings: dict[tuple[str, str, str], inv.Finding] = field(default_factory=dict)
    died: Counter[str] = field(default_factory=Counter)
    recovery: Counter[str] = field(default_factory=Counter)
    recovery_errors: Counter[str] = field(default_factory=Counter)

    def add(self, found: list[inv.Finding]) -> None:
        for f in found:
            self.findings[f.identity()] = f

    def traceback(self, book: Book, proc: Proc, what: str) -> None:
        if "Traceback" in proc.stderr:
            last = proc.stderr.strip().splitlines()[-1][:240]
            self.add([inv.Finding("unexpected_exception", book.account_id, f"{what}: {last}")])


def run_crash(trials: int, seed: int, workdir: Path, progress: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(seed)
    server = Server(workdir, seed)
    try:
        return _trials(server, trials, seed, rng, workdir, started, progress)
    finally:
        server.stop()


def _trials(
    server: Server,
    trials: int,
    seed: int,
    rng: random.Random,
    workdir: Path,
    started: float,
    progress: bool,
) -> dict[str, Any]:
    server.call("POST", "/sim/market", {"frozen": True})
    start_marks = {s: Decimal(str(m)) for s, m in server.call("GET", "/sim/state")["marks"].items()}
    books: list[Book] = []
    for name in PLAYBOOKS:
        path = ROOT / "playbooks" / f"{name}.yaml"
        playbook = load_playbook(path)
        created = server.call("POST", "/sim/accounts", {"balance": "10000"})
        state_dir = workdir / name
        state_dir.mkdir(parents=True)
        variants = write_variants(path, workdir / "playbooks")
        ever = inv.Declared.union([inv.Declared.of(load_playbook(v)) for v in variants])
        books.append(
            Book(
                name,
                variants,
                path,
                playbook,
                inv.Declared.of(playbook),
                ever,
                created["account_id"],
                created["secret"],
                state_dir,
            )
        )
    symbols = sorted({s.symbol for b in books for s in b.playbook.symbols})
    walk = Walk({s: start_marks[s] for s in symbols}, rng)
    tally = Tally()
    for book in books:  # a clean first apply, then the foreign orders
        tally.traceback(book, apply(book, server.url), "warm-up")
        asyncio.run(_place_foreign(server.url, book, walk.marks()))
    snap = server.snapshot()
    for book in books:
        book.foreign = [
            r
            for r in snap.orders[book.account_id]
            if r.is_open and not book.declared.ours(r.client_order_id)
        ]

    kills = 0
    for t in range(trials):
        book = books[t % len(books)]
        # a new version of the playbook every trial, so that every trial has writes to do
        book.path = book.variants[(t // len(books) + 1) % len(book.variants)]
        book.playbook = load_playbook(book.path)
        book.declared = inv.Declared.of(book.playbook)
        for symbol, mark in walk.step().items():
            server.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": str(mark)})
        server.call(
            "POST",
            "/sim/faults",
            {
                "latency_ms": rng.randint(20, 80),
                "error_rate": 0.03,
                "drop_response_rate": 0.03,
                "seed": seed * 1_000_003 + t,
            },
        )
        since_ms = int(time.time() * 1000)
        killed = apply(book, server.url, kill_after=rng.uniform(*KILL_DELAY_S))
        kills += killed.killed
        tally.died[died_at(book, since_ms) if killed.killed else "finished_before_kill"] += 1
        tally.traceback(book, killed, "apply")
        server.call(
            "POST", "/sim/faults", {"latency_ms": 0, "error_rate": 0, "drop_response_rate": 0}
        )
        again = apply(book, server.url)
        tally.recovery[_outcome(again)] += 1
        if again.rc not in (0, 3):
            tally.recovery_errors[_last_line(again.stderr)] += 1
        tally.traceback(book, again, "apply after the kill")
        tally.add(check(server, book, books, _margin_adds_since(book, since_ms)))
        if again.rc == 0:
            tally.add(subset(server, book))
        if progress:
            print(f"  trial {t + 1}/{trials}: {len(tally.findings)} findings", file=sys.stderr)

    for symbol, mark in start_marks.items():
        if symbol in walk.start:
            server.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": str(mark)})
    for book in books:
        book.path = book.variants[0]
        book.playbook = load_playbook(book.path)
        book.declared = inv.Declared.of(book.playbook)
    convergence = {book.name: _converge(server, book, tally) for book in books}
    for book in books:
        tally.add(check(server, book, books, Decimal(0)))
    converged = all(c["converged"] for c in convergence.values())
    duplicates, violations = inv.split(tally.findings.values())
    snap = server.snapshot()
    return {
        "bench": "crash",
        "trials": trials,
        "seed": seed,
        "kills": kills,
        "faults_injected": kills,
        "died_at": dict(tally.died.most_common()),
        "duplicates": len(duplicates),
        "violations": len(violations),
        "converged": converged,
        "convergence": convergence,
        "recovery_outcomes": dict(tally.recovery.most_common()),
        "recovery_errors": dict(tally.recovery_errors.most_common(6)),
        "orders_total": sum(len(snap.orders.get(b.account_id, [])) for b in books),
        "liquidations": len(snap.liquidations),
        "findings_by_kind": dict(Counter(f.kind for f in duplicates + violations)),
        "findings": [f.to_json() for f in (duplicates + violations)[:20]],
        "all_findings": [f.to_json() for f in duplicates + violations],
        "elapsed_s": round(time.monotonic() - started, 1),
    }


def _last_line(text: str) -> str:
    lines = [
        line
        for line in text.strip().splitlines()
        if line.strip() and not line.startswith("  ..") and "took over a stale lock" not in line
    ]
    return re.sub(r"[0-9.]+", "N", lines[-1])[:200] if lines else ""


def _outcome(proc: Proc) -> str:
    return {0: "ok", 1: "error", 3: "blocked"}.get(proc.rc or 0, f"exit_{proc.rc}")


def _converge(server: Server, book: Book, tally: Tally) -> dict[str, Any]:
    rcs = []
    for _ in range(2):
        proc = apply(book, server.url)
        tally.traceback(book, proc, "convergence apply")
        rcs.append(proc.rc)
        if proc.rc == 0:
            break
    rc, document, err = plan_json(book, server.url)
    if document is None:
        return {"converged": False, "apply_exit_codes": rcs, "plan_exit": rc, "error": err[-300:]}
    actions = len(document.get("actions", []))
    blocked = bool(document.get("guard_violations"))
    tally.add(subset(server, book) if actions == 0 else [])
    return {
        "converged": actions == 0 or blocked,
        "apply_exit_codes": rcs,
        "remaining_actions": actions,
        "guard_violations": document.get("guard_violations", []),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    workdir = Path(tempfile.mkdtemp(prefix="runner-crash-", dir=base))
    try:
        report = run_crash(args.trials, args.seed, workdir, progress=not args.json)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    del report["all_findings"]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['trials']} trials ({report['kills']} kills) in {report['elapsed_s']} s: "
            f"{report['duplicates']} duplicates, {report['violations']} violations, "
            f"converged: {report['converged']}"
        )
        print(f"died at: {report['died_at']}")
        for finding in report["findings"]:
            print(f"  {finding['kind']}: {finding['account_id'][:10]} {finding['detail']}")
    ok = report["duplicates"] == 0 and report["violations"] == 0 and report["converged"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

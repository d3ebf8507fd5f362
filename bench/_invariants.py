"""Invariants the reliability benches (chaos.py, crash.py) check after every run.

They are judged from the simulator's full order history (open, cancelled and filled orders,
read from the engine in-process or from its SQLite store), its positions and liquidations, and
the journal's intents: never from what runner says it did. Definitions:

duplicates (per account, per client_order_id of the playbook, orders sorted by order_id):
  - `overlap`: two orders with one id were open at the same time (the second was created
    before the first was closed);
  - `replaced_after_fill`: an entry not declared `repeat` was placed again after an order with
    its id had filled, even partly;
  - `replaced_while_not_cancelled`: an id was placed again although its previous order was
    neither cancelled (nor rejected) nor, for a `repeat` entry, filled.
violations:
  - `undeclared_open`: one of our open orders carries an id the playbook does not declare;
  - `max_order_notional`: an order of ours was placed with price x quantity above the guard;
  - `max_open_orders`: at some instant more of our orders were open than the guard allows;
  - `max_isolated_margin`: a run that added isolated margin left the playbook's isolated
    margin above the guard;
  - `max_margin_added_per_day`: ADDs of margin in 24 h above the guard, counted three ways:
    the journal's done + unknown + unanswered intents (runner's own budget rule), every ADD
    intent that may have reached the exchange (also those a later run settled as `skipped`),
    and, when the bench can see it, the ADDs the exchange really committed;
  - `foreign_touched`: an order runner does not own changed, other than by a fill or by the
    exchange's liquidation of its margin mode;
  - `unexpected_exception`: a reconcile raised something that is not a RunnerError.
This module only reads and compares: it must never write to the simulator or the journal.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.journal import JOURNAL_FILENAME
from runner.playbook.ids import client_order_id, is_ours
from runner.playbook.model import Playbook

DAY_MS = 24 * 3600 * 1000
OPEN = frozenset({"NEW", "PARTIAL_FILLED"})
CLOSED_FOR_REUSE = frozenset({"CANCELLED", "REJECTED"})


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order as the exchange holds it, whatever its status."""

    order_id: int
    account_id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    margin_mode: str
    price: Decimal | None
    quantity: Decimal
    executed: Decimal
    status: str
    created_time: int
    updated_time: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def closed_at(self) -> int | None:
        return None if self.is_open else self.updated_time


@dataclass(frozen=True, slots=True)
class PositionRow:
    account_id: str
    symbol: str
    margin_mode: str
    qty: Decimal
    margin: Decimal


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    account_id: str
    detail: str
    # findings with one key are one problem seen again (the latest detail is kept)
    key: str = ""

    def identity(self) -> tuple[str, str, str]:
        return (self.kind, self.account_id, self.key or self.detail)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "account_id": self.account_id, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class EntryInfo:
    key: str
    repeat: bool


@dataclass(frozen=True, slots=True)
class Declared:
    """What a playbook declares, in the terms the checks need."""

    playbook: Playbook
    entries: Mapping[str, EntryInfo]  # client_order_id -> entry

    @classmethod
    def of(cls, playbook: Playbook) -> Declared:
        entries = {
            client_order_id(playbook.name, s.symbol, s.margin_mode, o): EntryInfo(o.key, o.repeat)
            for s in playbook.symbols
            for o in s.orders
        }
        return cls(playbook, entries)

    @classmethod
    def union(cls, versions: Sequence[Declared]) -> Declared:
        """Every entry any version of one playbook declared (guards of the first)."""
        entries: dict[str, EntryInfo] = {}
        for version in versions:
            entries.update(version.entries)
        return cls(versions[0].playbook, entries)

    def ours(self, coid: str) -> bool:
        return is_ours(self.playbook.name, coid)


# --- reading the simulator ---------------------------------------------------------------


def order_row(order: Any) -> OrderRow:
    """From a simulator order record (runner.sim.model.Order)."""
    return OrderRow(
        order_id=int(order.order_id),
        account_id=str(order.account_id),
        client_order_id=str(order.client_order_id or ""),
        symbol=str(order.symbol),
        side=str(order.side),
        type=str(order.type),
        margin_mode=str(order.margin_mode),
        price=None if order.price is None else Decimal(order.price),
        quantity=Decimal(order.quantity),
        executed=Decimal(order.executed_quantity),
        status=str(order.status),
        created_time=int(order.created_time),
        updated_time=int(order.updated_time),
    )


def position_row(position: Any) -> PositionRow:
    return PositionRow(
        account_id=str(position.account_id),
        symbol=str(position.symbol),
        margin_mode=str(position.margin_mode),
        qty=Decimal(position.qty),
        margin=Decimal(position.margin),
    )


@dataclass(slots=True)
class ExchangeSnapshot:
    """Orders (all of them), positions and liquidations of the simulator at one instant."""

    orders: dict[str, list[OrderRow]] = field(default_factory=dict)
    positions: dict[str, list[PositionRow]] = field(default_factory=dict)
    liquidations: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_engine(cls, engine: Any) -> ExchangeSnapshot:
        """From a live in-process engine (app.state.sim); call between requests."""
        state = engine.state
        snap = cls()
        for account_id, orders in state.orders_by_account.items():
            snap.orders[account_id] = sorted(
                (order_row(o) for o in orders), key=lambda r: r.order_id
            )
        for position in state.positions.values():
            snap.positions.setdefault(position.account_id, []).append(position_row(position))
        snap.liquidations = [dict(x) for x in state.liquidations]
        return snap

    @classmethod
    def from_store(cls, db_path: Path) -> ExchangeSnapshot:
        """From the simulator's SQLite file, read-only (the server may still be running)."""
        snap = cls()
        uri = f"file:{db_path}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=30) as conn:
            rows = conn.execute("SELECT kind, value FROM obj WHERE kind IN ('order', 'position')")
            for kind, text in rows.fetchall():
                record = _Record(json.loads(text))
                if kind == "order":
                    row = order_row(record)
                    snap.orders.setdefault(row.account_id, []).append(row)
                else:
                    pos = position_row(record)
                    snap.positions.setdefault(pos.account_id, []).append(pos)
            liq = conn.execute("SELECT value FROM obj WHERE kind = 'liquidation'").fetchall()
            snap.liquidations = [json.loads(v) for (v,) in liq]
        for rows_ in snap.orders.values():
            rows_.sort(key=lambda r: r.order_id)
        return snap


class _Record:
    """Attribute access over a stored JSON record."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.__dict__.update(raw)


# --- the checks ----------------------------------------------------------------------------


def check_duplicates(account_id: str, orders: Sequence[OrderRow], decl: Declared) -> list[Finding]:
    by_id: dict[str, list[OrderRow]] = {}
    for row in orders:
        if decl.ours(row.client_order_id):
            by_id.setdefault(row.client_order_id, []).append(row)
    found: list[Finding] = []
    for coid, rows in by_id.items():
        entry = decl.entries.get(coid)
        repeat = entry.repeat if entry is not None else False
        for before, after in itertools.pairwise(rows):
            where = f"{coid}: order {after.order_id} after {before.order_id} ({before.status})"
            closed = before.closed_at
            if closed is None or after.created_time < closed:
                found.append(Finding("overlap", account_id, where))
            elif before.executed > 0 and not repeat:
                found.append(Finding("replaced_after_fill", account_id, where))
            elif before.status not in CLOSED_FOR_REUSE and not (
                repeat and before.status == "FILLED"
            ):
                found.append(Finding("replaced_while_not_cancelled", account_id, where))
    return found


def check_open_subset(account_id: str, orders: Iterable[OrderRow], decl: Declared) -> list[Finding]:
    return [
        Finding("undeclared_open", account_id, f"{r.client_order_id} (order {r.order_id})")
        for r in orders
        if r.is_open and decl.ours(r.client_order_id) and r.client_order_id not in decl.entries
    ]


def check_order_guards(
    account_id: str, orders: Sequence[OrderRow], decl: Declared
) -> list[Finding]:
    guards = decl.playbook.guards
    ours = [r for r in orders if decl.ours(r.client_order_id)]
    found: list[Finding] = []
    if guards.max_order_notional is not None:
        for r in ours:
            if r.price is not None and r.price * r.quantity > guards.max_order_notional:
                found.append(
                    Finding(
                        "max_order_notional",
                        account_id,
                        f"{r.client_order_id}: notional {r.price * r.quantity} "
                        f"> {guards.max_order_notional}",
                    )
                )
    if guards.max_open_orders is not None:
        peak, at = max_concurrent(ours)
        if peak > guards.max_open_orders:
            found.append(
                Finding(
                    "max_open_orders",
                    account_id,
                    f"{peak} of our orders open at t={at} > {guards.max_open_orders}",
                    key=f"open@{at}",
                )
            )
    return found


def max_concurrent(rows: Iterable[OrderRow]) -> tuple[int, int]:
    """The largest number of orders open at one instant, and that instant."""
    events: list[tuple[int, int]] = []
    for r in rows:
        events.append((r.created_time, 1))
        if r.closed_at is not None:
            events.append((r.closed_at, -1))
    # a close and an open in the same millisecond: count the close first
    events.sort(key=lambda e: (e[0], e[1]))
    level = peak = 0
    at = 0
    for t, step in events:
        level += step
        if level > peak:
            peak, at = level, t
    return peak, at


def isolated_margin(positions: Iterable[PositionRow], decl: Declared) -> Decimal:
    slots = {(s.symbol, s.margin_mode.value) for s in decl.playbook.symbols}
    return sum(
        (
            p.margin
            for p in positions
            if p.margin_mode == "ISOLATED" and (p.symbol, p.margin_mode) in slots and p.qty != 0
        ),
        Decimal(0),
    )


def check_isolated_margin(
    account_id: str, positions: Iterable[PositionRow], decl: Declared, added_this_run: Decimal
) -> list[Finding]:
    guard = decl.playbook.guards.max_isolated_margin
    if guard is None or added_this_run <= 0:
        return []
    total = isolated_margin(positions, decl)
    if total <= guard:
        return []
    detail = f"isolated margin {total} > {guard} after a run that added {added_this_run}"
    return [Finding("max_isolated_margin", account_id, detail, key="isolated")]


@dataclass(frozen=True, slots=True)
class MarginAdds:
    """ADDs of isolated margin in the journal, in the window, counted three ways."""

    budgeted: Decimal  # done, unknown or unanswered: what runner's budget counts
    maybe_landed: Decimal  # every ADD that may have reached the exchange (all but failed)
    intents: int


def journal_margin_adds(
    state_dir: Path, account_id: str, playbook: str, since_ms: int
) -> MarginAdds:
    path = state_dir / JOURNAL_FILENAME
    if not path.exists():
        return MarginAdds(Decimal(0), Decimal(0), 0)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute(
            "SELECT json_extract(i.payload, '$.amount'), i.status FROM intents i "
            "JOIN runs r USING (run_id) WHERE r.account_id = ? AND r.playbook = ? "
            "AND i.action_type = 'adjust_margin' "
            "AND json_extract(i.payload, '$.adjustment') = 'ADD' AND i.recorded_at_ms >= ?",
            (account_id, playbook, since_ms),
        ).fetchall()
    budgeted = maybe = Decimal(0)
    for amount, status in rows:
        value = Decimal(str(amount))
        if status in (None, "done", "unknown"):
            budgeted += value
        if status != "failed":
            maybe += value
    return MarginAdds(budgeted, maybe, len(rows))


def check_margin_budget(
    account_id: str, decl: Declared, adds: MarginAdds, committed: Decimal | None
) -> list[Finding]:
    guard = decl.playbook.guards.max_margin_added_per_day
    if guard is None:
        return []
    found: list[Finding] = []
    if adds.budgeted > guard:
        found.append(
            Finding(
                "max_margin_added_per_day",
                account_id,
                f"journal counts {adds.budgeted} added in 24 h > {guard}",
                key="journal",
            )
        )
    if adds.maybe_landed > guard:
        found.append(
            Finding(
                "max_margin_added_per_day",
                account_id,
                f"{adds.maybe_landed} of ADD intents may have landed in 24 h > {guard} "
                f"(the journal's budget counts only {adds.budgeted})",
                key="maybe_landed",
            )
        )
    if committed is not None and committed > guard:
        found.append(
            Finding(
                "max_margin_added_per_day",
                account_id,
                f"the exchange committed {committed} of ADDs in 24 h > {guard}",
                key="committed",
            )
        )
    return found


def check_foreign(
    baseline: Sequence[OrderRow],
    orders: Sequence[OrderRow],
    liquidations: Sequence[Mapping[str, Any]],
) -> list[Finding]:
    """Each foreign order unchanged, unless the market filled it or a liquidation of its margin
    mode (and, for isolated, its symbol) cancelled it."""
    now = {r.order_id: r for r in orders}
    found: list[Finding] = []
    for before in baseline:
        after = now.get(before.order_id)
        if after is None:
            found.append(Finding("foreign_touched", before.account_id, f"{before.order_id} gone"))
            continue
        same = (after.price, after.quantity, after.client_order_id, after.symbol) == (
            before.price,
            before.quantity,
            before.client_order_id,
            before.symbol,
        )
        if same and (after.status == before.status or after.executed > before.executed):
            continue
        if same and after.status == "CANCELLED" and _liquidated(after, liquidations):
            continue
        found.append(
            Finding(
                "foreign_touched",
                before.account_id,
                f"order {before.order_id} ({before.client_order_id or 'no id'}) "
                f"{before.status} -> {after.status}",
            )
        )
    return found


def _liquidated(order: OrderRow, liquidations: Sequence[Mapping[str, Any]]) -> bool:
    for event in liquidations:
        if event.get("account_id") != order.account_id:
            continue
        if event.get("margin_mode") != order.margin_mode:
            continue
        if order.margin_mode == "ISOLATED" and event.get("symbol") != order.symbol:
            continue
        if int(event.get("timestamp", 0)) >= order.created_time:
            return True
    return False


def split(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(duplicates, violations)."""
    dup_kinds = {"overlap", "replaced_after_fill", "replaced_while_not_cancelled"}
    items = list(findings)
    return [f for f in items if f.kind in dup_kinds], [f for f in items if f.kind not in dup_kinds]

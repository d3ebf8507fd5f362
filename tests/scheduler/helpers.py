"""Playbook files and a controllable stand-in for the reconcile, for the scheduler's tests.

`FakeRun` is the scheduler's own seam (a RunPlaybook), not an exchange mock: it lets the tests
decide how long a run takes and how it ends, to prove overlap, misses, backoff and signals.
Anything that talks to an exchange is tested against the simulator instead.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.playbook.model import Playbook
from runner.scheduler.runs import RunReport


def playbook_text(
    name: str,
    *,
    schedule: str | None = '{every: "5s"}',
    leverage: int = 3,
    price: int = 2700,
    max_position_notional: int | None = None,
) -> str:
    lines = ["version: 1", f"name: {name}", "network: sim"]
    if schedule is not None:
        lines.append(f"schedule: {schedule}")
    lines += ["guards:", "  max_leverage: 5", "  max_order_notional: 500"]
    if max_position_notional is not None:
        lines.append(f"  max_position_notional: {max_position_notional}")
    lines += [
        "symbols:",
        "  PERP_ETH_USDC:",
        "    margin_mode: ISOLATED",
        f"    leverage: {leverage}",
        "    orders:",
        "      - key: dip",
        "        side: BUY",
        "        type: LIMIT",
        f"        price: {price}",
        "        quantity: 0.05",
    ]
    return "\n".join(lines) + "\n"


def write_playbook(folder: Path, name: str, **kw: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(playbook_text(name, **kw), encoding="utf-8")
    return path


@dataclass
class Call:
    playbook: Playbook
    started: float
    ended: float = 0.0


@dataclass
class FakeRun:
    """A RunPlaybook whose runs last `duration` seconds and end as `outcomes` says, in order
    (then `default`); records every call and the most runs ever in flight at once."""

    duration: float = 0.0
    outcomes: list[str] = field(default_factory=list)
    default: str = "in_sync"
    calls: list[Call] = field(default_factory=list)
    active: int = 0
    most_active: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, playbook: Playbook) -> RunReport:
        call = Call(playbook, time.monotonic())
        self.calls.append(call)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.started.set()
        try:
            await asyncio.sleep(self.duration)
        finally:
            self.active -= 1
            call.ended = time.monotonic()
        outcome = self.outcomes.pop(0) if self.outcomes else self.default
        code = {"in_sync": 0, "applied": 0, "blocked": 3}.get(outcome, 1)
        return RunReport(
            outcome=outcome,
            exit_code=code,
            account_id="0xfake",
            network="sim",
            pending=0,
            halted=playbook.halt,
        )

    @property
    def finished(self) -> list[Call]:
        return [c for c in self.calls if c.ended]


class EventLines:
    """The scheduler's JSON log lines, parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.all() if e["event"] == event]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.all())


async def wait_until(predicate: Any, timeout: float = 5.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)

"""`runner simulate`: a playbook's reconciles against a private simulator along a price path.

A scenario file sets the marks step by step:

    prices:
      PERP_ETH_USDC: [2000, 1960, 1920, 1880]
    balance: 10000          # optional, USDC of the simulated account

At each step the marks are set (the simulator fills resting orders the marks crossed and
liquidates what they broke), then one reconcile runs with apply, exactly as `runner apply
--auto-approve` would. The report lists every action, every liquidation, the margin the rules
moved and the budget used, and the final state. The simulator lives in a temporary directory
and is thrown away: nothing here touches a real account or the user's state directory.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from runner.journal import Journal
from runner.orderly.client import OrderlyClient
from runner.orderly.signing import Signer
from runner.playbook.errors import PlaybookError, Problem
from runner.playbook.load import read_document
from runner.playbook.model import Playbook
from runner.playbook.rules import as_decimal
from runner.reconcile.actions import ActionType
from runner.reconcile.execute import Outcome
from runner.reconcile.run import Exchange, Reconciler
from runner.sim.app import create_app
from runner.sim.transport import InProcessTransport

_BASE_URL = "http://simulate.invalid"
DEFAULT_BALANCE = Decimal(10000)


@dataclass(frozen=True, slots=True)
class Scenario:
    prices: dict[str, tuple[Decimal, ...]]
    balance: Decimal = DEFAULT_BALANCE
    source: str = "<scenario>"

    @property
    def steps(self) -> int:
        return len(next(iter(self.prices.values())))


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file; every problem is reported with its file:line:col."""
    document = read_document(path)
    data = document.data
    problems: list[Problem] = []
    for key in data:
        if key not in ("prices", "balance", "description"):
            problems.append(
                document.problem(
                    (key,),
                    f"unknown field {key!r}",
                    "use prices, balance or description",
                    at_key=True,
                )
            )
    raw_prices = data.get("prices")
    prices: dict[str, tuple[Decimal, ...]] = {}
    if not isinstance(raw_prices, dict) or not raw_prices:
        problems.append(
            document.problem(
                ("prices",),
                "prices must map symbols to lists of marks",
                "e.g. prices: {PERP_ETH_USDC: [2000, 1960, 1920]}",
            )
        )
    else:
        for symbol, marks in raw_prices.items():
            if not isinstance(marks, list) or not marks:
                problems.append(
                    document.problem(("prices", symbol), "expected a non-empty list of marks")
                )
                continue
            values = []
            for index, mark in enumerate(marks):
                number = as_decimal(mark)
                if number is None or number <= 0:
                    problems.append(
                        document.problem(
                            ("prices", symbol, index), f"{mark!r} is not a positive price"
                        )
                    )
                else:
                    values.append(number)
            prices[str(symbol)] = tuple(values)
        lengths = {len(v) for v in prices.values()}
        if len(lengths) > 1:
            problems.append(
                document.problem(
                    ("prices",),
                    "every symbol needs the same number of steps",
                    f"the lists have lengths {sorted(lengths)}",
                )
            )
    balance = DEFAULT_BALANCE
    if "balance" in data:
        number = as_decimal(data["balance"])
        if number is None or number <= 0:
            problems.append(document.problem(("balance",), "balance must be a positive number"))
        else:
            balance = number
    if problems:
        raise PlaybookError(problems)
    return Scenario(prices=prices, balance=balance, source=str(path))


@dataclass(slots=True)
class SimulationReport:
    playbook: str
    scenario: str
    steps: int
    actions: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    liquidations: list[dict[str, Any]] = field(default_factory=list)
    margin_added: Decimal = Decimal(0)
    margin_reduced: Decimal = Decimal(0)
    budget: Decimal | None = None
    blocked: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "simulated": True,
            "playbook": self.playbook,
            "scenario": self.scenario,
            "steps": self.steps,
            "actions": self.actions,
            "fills": self.fills,
            "liquidations": self.liquidations,
            "margin": {
                "added": str(self.margin_added),
                "reduced": str(self.margin_reduced),
                "budget_per_day": None if self.budget is None else str(self.budget),
                "budget_used": str(self.margin_added),
            },
            "blocked": self.blocked,
            "final": self.final,
        }


class _Admin:
    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body, default=str).encode() if body is not None else None
        response = await self.client.request(method, path, content=content, headers=self.headers)
        payload = json.loads(response.content, parse_float=Decimal)
        if not payload.get("success"):
            raise RuntimeError(f"simulator refused {method} {path}: {payload.get('message')}")
        return payload.get("data")


def _liquidation_row(step: int, event: dict[str, Any]) -> dict[str, Any]:
    if event["margin_mode"] == "ISOLATED":
        lost = Decimal(event["margin"]) - Decimal(event["returned_to_holding"])
    else:
        lost = Decimal(event["holding_before"]) - Decimal(event["holding_after"])
    return {
        "step": step,
        "symbol": event["symbol"],
        "margin_mode": event["margin_mode"],
        "margin_lost": str(lost),
        "mark_price": event.get("mark_price"),
    }


async def simulate(
    playbook: Playbook,
    scenario: Scenario,
    *,
    progress: Callable[[str], None] | None = None,
) -> SimulationReport:
    """Run the playbook along the scenario's price path on a private simulator."""
    say = progress or (lambda _message: None)
    report = SimulationReport(
        playbook=playbook.name,
        scenario=scenario.source,
        steps=scenario.steps,
        budget=playbook.guards.max_margin_added_per_day,
    )
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="runner-simulate-") as tmp:
        root = Path(tmp)
        app = create_app(state_dir=root / "sim", admin_token=token, rate_limits=False)
        transport = InProcessTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url=_BASE_URL) as http:
            admin = _Admin(http, token)
            await admin.call("POST", "/sim/market", {"frozen": True})
            for symbol, marks in scenario.prices.items():
                await admin.call("POST", "/sim/prices", {"symbol": symbol, "mark_price": marks[0]})
            account = await admin.call("POST", "/sim/accounts", {"balance": scenario.balance})
            client = OrderlyClient(
                _BASE_URL,
                account_id=account["account_id"],
                signer=Signer(account["secret"]),
                transport=transport,
            )
            exchange = Exchange(
                client=client,
                account_id=account["account_id"],
                network="sim",
                simulated=True,
                description="private simulator (runner simulate)",
                base_url=_BASE_URL,
            )
            seen_liquidations = 0
            positions: dict[tuple[str, str], Decimal] = {}
            with Journal.open(root / "state") as journal:
                reconciler = Reconciler(exchange, journal, state_dir=root / "state")
                try:
                    for step in range(scenario.steps):
                        for symbol, marks in scenario.prices.items():
                            await admin.call(
                                "POST", "/sim/prices", {"symbol": symbol, "mark_price": marks[step]}
                            )
                        state = await admin.call("GET", "/sim/state")
                        _record_fills(report, step, state, account["account_id"], positions)
                        for event in state["liquidations"][seen_liquidations:]:
                            if event["account_id"] == account["account_id"]:
                                report.liquidations.append(_liquidation_row(step, event))
                                say(f"step {step}: {event['symbol']} liquidated")
                        seen_liquidations = len(state["liquidations"])
                        result = await reconciler.run(playbook, apply=True, mode="simulate")
                        _record_step(report, step, result)
                        state = await admin.call("GET", "/sim/state")
                        _record_fills(report, step, state, account["account_id"], positions)
                    final = await admin.call("GET", "/sim/state")
                finally:
                    await client.aclose()
    row = next(a for a in final["accounts"] if a["account_id"] == account["account_id"])
    report.final = {
        "balance": str(row["balance"]),
        "marks": {s: str(m) for s, m in final["marks"].items() if s in scenario.prices},
        "positions": row["positions"],
        "open_orders": len(row["open_orders"]),
    }
    return report


def _record_fills(
    report: SimulationReport,
    step: int,
    state: dict[str, Any],
    account_id: str,
    positions: dict[tuple[str, str], Decimal],
) -> None:
    """Position changes since the last look: fills of resting or just-placed orders."""
    row = next(a for a in state["accounts"] if a["account_id"] == account_id)
    now = {
        (p["symbol"], p["margin_mode"]): Decimal(str(p["position_qty"])) for p in row["positions"]
    }
    for key in sorted(set(now) | set(positions)):
        change = now.get(key, Decimal(0)) - positions.get(key, Decimal(0))
        if change != 0:
            report.fills.append(
                {"step": step, "symbol": key[0], "margin_mode": key[1], "qty_change": str(change)}
            )
    positions.clear()
    positions.update(now)


def _record_step(report: SimulationReport, step: int, result: Any) -> None:
    for outcome in result.outcomes:
        action = outcome.action
        row: dict[str, Any] = {
            "step": step,
            "symbol": action.symbol,
            "margin_mode": action.margin_mode.value,
            "type": action.type.value,
            "status": outcome.status.value,
        }
        if action.type == ActionType.ADJUST_MARGIN:
            row.update(
                adjustment=action.adjustment.value if action.adjustment else None,
                amount=str(action.amount),
                distance_before_pct=str(action.distance_before),
                distance_after_pct=str(action.distance_after),
            )
            if outcome.status == Outcome.DONE and action.amount is not None:
                if action.adjustment is not None and action.adjustment.value == "ADD":
                    report.margin_added += action.amount
                else:
                    report.margin_reduced += action.amount
        elif action.type in (ActionType.PLACE_ORDER, ActionType.CANCEL_ORDER):
            row.update(
                key=action.key,
                client_order_id=action.client_order_id,
                side=action.side.value if action.side else None,
                price=None if action.price is None else str(action.price),
                quantity=None if action.quantity is None else str(action.quantity),
            )
        elif action.type == ActionType.SET_LEVERAGE:
            row.update(leverage=action.leverage_after)
        report.actions.append(row)
    for condition in (result.final_plan or result.plan).conditions:
        for blocker in condition.blockers:
            report.blocked.append(
                {
                    "step": step,
                    "symbol": condition.symbol,
                    "what": blocker.what,
                    "reason": blocker.reason,
                }
            )

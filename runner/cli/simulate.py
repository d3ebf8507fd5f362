"""`runner simulate PLAYBOOK --scenario FILE`: rehearse a playbook along a price path."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import click

from runner.playbook.build import load_playbook


@click.command("simulate")
@click.argument(
    "playbook_path", metavar="PLAYBOOK", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--scenario",
    "scenario_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file with `prices: {SYMBOL: [mark, mark, ...]}` (and optionally `balance`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def simulate(playbook_path: Path, scenario_path: Path, as_json: bool) -> int:
    """Run PLAYBOOK's reconciles on a private simulator along a price path.

    At each step the marks are set (resting orders fill, broken positions are liquidated),
    then one reconcile applies the playbook. The report lists every action, every
    liquidation, the margin the rules added and took back, and the final state. Nothing
    touches a real account or your state directory.

    \b
    Example:
      runner simulate playbooks/quickstart.yaml --scenario playbooks/scenarios/eth-drawdown.yaml
    """
    from runner.simulate import load_scenario
    from runner.simulate import simulate as run_simulation

    playbook = load_playbook(playbook_path)
    scenario = load_scenario(scenario_path)
    report = asyncio.run(run_simulation(playbook, scenario))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
        return 0
    click.echo(
        f"Simulated playbook {playbook.name} along {scenario_path} ({scenario.steps} steps) on a "
        "private simulator: no real money involved."
    )
    by_step: dict[int, list[str]] = {}
    for row in report.actions:
        text = f"{row['type']} {row['symbol']} {row['margin_mode']}"
        if row["type"] == "adjust_margin":
            text = (
                f"margin {row['adjustment']} {Decimal(row['amount']):,.2f} on {row['symbol']} "
                f"(liq distance {Decimal(row['distance_before_pct']):.1f}% -> "
                f"{Decimal(row['distance_after_pct']):.1f}%)"
            )
        elif row["type"] in ("place_order", "cancel_order"):
            verb = "place" if row["type"] == "place_order" else "cancel"
            text = f"{verb} {row['key'] or row['client_order_id']} {row['symbol']}"
        elif row["type"] == "set_margin_mode":
            text = f"default margin mode {row['symbol']} -> {row['margin_mode']}"
        elif row["type"] == "set_leverage":
            text = f"leverage {row['symbol']} {row['margin_mode']} -> {row['leverage']}x"
        if row["status"] != "done":
            text += f" [{row['status']}]"
        by_step.setdefault(row["step"], []).append(text)
    for step in range(scenario.steps):
        marks = ", ".join(f"{s} {m[step]}" for s, m in scenario.prices.items())
        lines = by_step.get(step, [])
        liquidated = [lq for lq in report.liquidations if lq["step"] == step]
        fills = [f for f in report.fills if f["step"] == step]
        click.echo(f"step {step:>3}  {marks}")
        closed = {(lq["symbol"], lq["margin_mode"]) for lq in liquidated}
        for fill in fills:
            if (fill["symbol"], fill["margin_mode"]) not in closed:
                click.echo(
                    f"        filled {fill['symbol']} {fill['margin_mode']} "
                    f"{Decimal(fill['qty_change']):+}"
                )
        for lq in liquidated:
            click.echo(
                f"        LIQUIDATED {lq['symbol']} {lq['margin_mode']}: lost "
                f"{Decimal(lq['margin_lost']):,.2f} USDC"
            )
        for line in lines:
            click.echo(f"        {line}")
    click.echo("")
    click.echo(f"Liquidations: {len(report.liquidations) or 'none'}")
    budget = f" of a {report.budget} USDC daily budget" if report.budget is not None else ""
    click.echo(
        f"Margin added {report.margin_added:,.2f}{budget}, taken back {report.margin_reduced:,.2f}"
    )
    if report.blocked:
        click.echo(
            f"Rules blocked {len(report.blocked)} time(s), first: "
            f"step {report.blocked[0]['step']} {report.blocked[0]['reason']}"
        )
    final = report.final
    click.echo(
        f"Final balance {Decimal(final['balance']):,.2f} USDC, {final['open_orders']} open order(s)"
    )
    for position in final["positions"]:
        click.echo(
            f"  {position['symbol']} {position['margin_mode']}: qty {position['position_qty']}, "
            f"margin {position.get('margin')}"
        )
    return 0

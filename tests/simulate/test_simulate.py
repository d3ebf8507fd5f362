"""`runner simulate`: margin rules along price paths, on a private simulator."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from runner.cli.main import main
from runner.playbook.build import load_playbook
from runner.playbook.errors import PlaybookError
from runner.simulate import SimulationReport, load_scenario, simulate

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = """\
version: 1
name: tenx
network: sim
symbols:
  PERP_ETH_USDC:
    margin_mode: ISOLATED
    leverage: 10
    orders:
      - {key: long, side: BUY, type: MARKET, quantity: 1}
{margin}
  PERP_BTC_USDC:
    margin_mode: CROSS
    leverage: 2
    orders:
      - {key: hedge, side: BUY, type: MARKET, quantity: 0.01}
"""
RULE = "    margin:\n      liq_distance: {min_pct: 15, target_pct: 20, max_pct: 40}"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


async def run(tmp_path: Path, with_rule: bool, eth: list[int]) -> SimulationReport:
    playbook = load_playbook(
        write(tmp_path, "tenx.yaml", PLAYBOOK.replace("{margin}", RULE if with_rule else ""))
    )
    btc = [95000] * len(eth)
    scenario = load_scenario(
        write(tmp_path, "s.yaml", f"prices:\n  PERP_ETH_USDC: {eth}\n  PERP_BTC_USDC: {btc}\n")
    )
    return await simulate(playbook, scenario)


DROP_11 = [2000, 1960, 1920, 1880, 1840, 1800, 1780]


async def test_an_eleven_percent_drop_liquidates_a_10x_long_without_the_rule(
    tmp_path: Path,
) -> None:
    report = await run(tmp_path, with_rule=False, eth=DROP_11)
    assert [(lq["symbol"], lq["margin_mode"]) for lq in report.liquidations] == [
        ("PERP_ETH_USDC", "ISOLATED")
    ]


async def test_the_same_long_survives_with_the_liq_distance_rule(tmp_path: Path) -> None:
    report = await run(tmp_path, with_rule=True, eth=DROP_11)
    assert report.liquidations == []
    adds = [a for a in report.actions if a["type"] == "adjust_margin"]
    assert adds and all(a["adjustment"] == "ADD" for a in adds)
    assert all(Decimal(a["distance_after_pct"]) >= Decimal("19.99") for a in adds)
    eth = next(p for p in report.final["positions"] if p["symbol"] == "PERP_ETH_USDC")
    assert Decimal(str(eth["position_qty"])) == 1


async def test_an_isolated_liquidation_leaves_the_cross_position_and_the_balance_alone(
    tmp_path: Path,
) -> None:
    flat = await run(tmp_path, with_rule=False, eth=DROP_11[:-1])  # the step before the loss
    crashed = await run(tmp_path, with_rule=False, eth=DROP_11)
    assert len(crashed.liquidations) == 1
    btc_before = next(p for p in flat.final["positions"] if p["symbol"] == "PERP_BTC_USDC")
    btc_after = next(p for p in crashed.final["positions"] if p["symbol"] == "PERP_BTC_USDC")
    assert btc_after["position_qty"] == btc_before["position_qty"]
    # the holding never pays for an isolated loss: what is left of the margin comes back
    lost = Decimal(crashed.liquidations[0]["margin_lost"])
    assert Decimal(0) < lost <= Decimal(200) + Decimal(1)  # about the position's own margin
    assert Decimal(crashed.final["balance"]) >= Decimal(flat.final["balance"])


async def test_margin_comes_back_when_the_price_recovers(tmp_path: Path) -> None:
    report = await run(tmp_path, with_rule=True, eth=[*DROP_11, 1900, 2100, 2300, 2500, 2700])
    kinds = [a["adjustment"] for a in report.actions if a["type"] == "adjust_margin"]
    assert "ADD" in kinds
    assert kinds[-1] == "REDUCE"
    assert report.margin_reduced > 0


def test_shipped_scenarios_load_and_a_bad_one_names_its_line(tmp_path: Path) -> None:
    for path in sorted((ROOT / "playbooks" / "scenarios").glob("*.yaml")):
        assert load_scenario(path).steps > 1
    bad = write(tmp_path, "bad.yaml", "prices:\n  PERP_ETH_USDC: [2000, -5]\n")
    with pytest.raises(PlaybookError) as caught:
        load_scenario(bad)
    assert "bad.yaml:2:" in str(caught.value.problems[0].render())


def test_simulate_json_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "simulate",
                str(ROOT / "playbooks" / "quickstart.yaml"),
                "--scenario",
                str(ROOT / "playbooks" / "scenarios" / "eth-drawdown.yaml"),
                "--json",
            ]
        )
    assert exited.value.code == 0
    document = json.loads(capsys.readouterr().out)
    assert {"actions", "liquidations", "margin", "final"} <= set(document)
    assert document["simulated"] is True

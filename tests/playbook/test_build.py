"""Good playbooks become the typed model: exact Decimals, both symbol forms, locations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.enums import MarginMode, OrderType, Side
from runner.playbook.build import expand_paths, load_playbook, load_playbooks, parse_playbook
from runner.playbook.errors import PlaybookError
from runner.playbook.ids import client_order_id
from runner.playbook.model import Band, LiqDistance, Location, Schedule

LIST_OF_MODES = """\
version: 1
name: both
guards: {max_leverage: 10, max_order_notional: "1000.50", min_free_collateral: 0}
schedule: {every: 5m}
symbols:
  PERP_ETH_USDC:
    - margin_mode: ISOLATED
      leverage: 10
      orders:
        - {key: dip, side: BUY, type: LIMIT, price: 2700.10, quantity: 0.1}
      margin:
        liq_distance: {min_pct: 10, target_pct: "12.5", max_pct: 30}
        leverage_band: {max: 8}
    - margin_mode: CROSS
      leverage: 3
      orders:
        - {key: hedge, side: SELL, type: POST_ONLY, price: "3300", quantity: "0.05",
           reduce_only: true}
  PERP_BTC_USDC:
    margin_mode: CROSS
    leverage: 2
"""


def test_list_of_modes_gives_one_symbol_spec_per_slot() -> None:
    playbook = parse_playbook(LIST_OF_MODES, "both.yaml")
    assert [spec.slot for spec in playbook.symbols] == [
        ("PERP_ETH_USDC", MarginMode.ISOLATED),
        ("PERP_ETH_USDC", MarginMode.CROSS),
        ("PERP_BTC_USDC", MarginMode.CROSS),
    ]
    assert playbook.symbol_names == ("PERP_ETH_USDC", "PERP_BTC_USDC")
    isolated = playbook.slot("PERP_ETH_USDC", MarginMode.ISOLATED)
    cross = playbook.slot("PERP_ETH_USDC", MarginMode.CROSS)
    assert isolated is not None and cross is not None
    assert isolated.leverage == 10 and cross.leverage == 3
    assert isolated.margin is not None
    assert isolated.margin.liq_distance == LiqDistance(Decimal(10), Decimal("12.5"), Decimal(30))
    assert isolated.margin.leverage_band == Band(max=Decimal(8))
    assert cross.margin is None
    hedge = cross.orders[0]
    assert (hedge.side, hedge.type, hedge.reduce_only) == (Side.SELL, OrderType.POST_ONLY, True)


def test_prices_and_quantities_are_exact_decimals() -> None:
    playbook = parse_playbook(LIST_OF_MODES, "both.yaml")
    dip = playbook.symbols[0].orders[0]
    hedge = playbook.symbols[1].orders[0]
    assert dip.price == Decimal("2700.10") and str(dip.price) == "2700.10"
    assert dip.quantity == Decimal("0.1") and str(dip.quantity) == "0.1"
    assert hedge.price == Decimal("3300") and hedge.quantity == Decimal("0.05")
    assert isinstance(dip.quantity, Decimal) and isinstance(hedge.quantity, Decimal)
    assert playbook.guards.max_order_notional == Decimal("1000.50")
    assert playbook.guards.min_free_collateral == Decimal(0)


def test_defaults_and_schedule() -> None:
    playbook = parse_playbook(LIST_OF_MODES, "both.yaml")
    assert (playbook.network, playbook.account, playbook.halt) == ("sim", "main", False)
    assert playbook.schedule == Schedule(every_seconds=300)
    assert playbook.guards.max_leverage == 10
    assert playbook.source == "both.yaml"


def test_locations_point_at_symbol_blocks_and_orders() -> None:
    playbook = parse_playbook(LIST_OF_MODES, "both.yaml")
    isolated, cross, btc = playbook.symbols
    assert isolated.location == Location("both.yaml", 7, 7)
    assert cross.location == Location("both.yaml", 14, 7)
    assert btc.location == Location("both.yaml", 19, 3)
    assert isolated.orders[0].location == Location("both.yaml", 10, 11)


def test_cron_schedule_is_kept_as_written_with_spaces_normalised() -> None:
    text = LIST_OF_MODES.replace("schedule: {every: 5m}", "schedule: '*/5  9-17 * * MON-FRI'")
    assert parse_playbook(text).schedule == Schedule(cron="*/5 9-17 * * MON-FRI")


def test_env_interpolation_reaches_the_model() -> None:
    text = LIST_OF_MODES.replace("name: both", "name: both\naccount: ${RUNNER_ACCOUNT:-main}")
    assert parse_playbook(text, env={"RUNNER_ACCOUNT": "alice"}).account == "alice"
    assert parse_playbook(text, env={}).account == "main"


def test_built_orders_fit_a_client_order_id() -> None:
    text = LIST_OF_MODES.replace("name: both", "name: abcdefghijklmnopqrstu")  # 21 + "hedge" = 26
    playbook = parse_playbook(text)
    for spec in playbook.symbols:
        for order in spec.orders:
            assert len(client_order_id(playbook.name, spec.symbol, spec.margin_mode, order)) <= 36


def test_load_playbook_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("version: 1\nname: x\nsymbols: {PERP_ETH_USDC: {leverage: 0}}\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    messages = [p.render() for p in caught.value.problems]
    assert len(messages) == 2
    assert all(m.startswith(f"{path}:3:") for m in messages)


def test_directories_yield_top_level_yaml_files_only(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text("x")
    (tmp_path / "a.yaml").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "crash.yaml").write_text("x")
    assert expand_paths([tmp_path]) == [tmp_path / "a.yaml", tmp_path / "b.yml"]


def test_load_playbooks_reports_each_file_and_empty_directories(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(LIST_OF_MODES)
    (tmp_path / "empty").mkdir()
    results = load_playbooks([good, tmp_path / "empty", tmp_path / "missing.yaml"])
    assert [type(result).__name__ for _, result in results] == [
        "Playbook",
        "PlaybookError",
        "PlaybookError",
    ]
    assert "no *.yaml or *.yml playbooks" in str(results[1][1])
    assert "cannot read the file" in str(results[2][1])

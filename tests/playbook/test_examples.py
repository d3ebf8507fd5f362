"""Every shipped example playbook is valid, realistic for the simulator, and editor-ready."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.enums import MarginMode, OrderType, Side
from runner.playbook.build import load_playbook, parse_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
EXAMPLES = sorted(PLAYBOOKS.glob("*.yaml"))
# the simulator's starting marks (and the ones the comments of the examples assume)
MARKS = {
    "PERP_ETH_USDC": Decimal(3000),
    "PERP_BTC_USDC": Decimal(95000),
    "PERP_SOL_USDC": Decimal(150),
}
PRICE_SCOPE = Decimal("0.4")  # orderly-api.md §4.3: BUY >= mark x 0.6, SELL <= mark x 1.4
MIN_NOTIONAL = Decimal(10)


def test_the_four_starting_points_ship() -> None:
    names = {path.name for path in EXAMPLES}
    assert {"quickstart.yaml", "eth-isolated.yaml", "multi-symbol.yaml", "testnet.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads_and_carries_the_schema_modeline(path: Path) -> None:
    playbook = load_playbook(path, env={})
    assert playbook.symbols
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/playbook.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_orders_respect_price_scope_and_min_notional(path: Path) -> None:
    playbook = load_playbook(path, env={})
    for spec in playbook.symbols:
        mark = MARKS.get(spec.symbol)
        for order in spec.orders:
            if order.price is None:
                continue
            assert order.price * order.quantity >= MIN_NOTIONAL, order.key
            if mark is None:
                continue
            if order.side is Side.BUY:
                assert mark * (1 - PRICE_SCOPE) <= order.price, order.key
            else:
                assert order.price <= mark * (1 + PRICE_SCOPE), order.key


def test_quickstart_is_what_the_readme_promises() -> None:
    playbook = load_playbook(PLAYBOOKS / "quickstart.yaml", env={})
    assert playbook.network == "sim"
    eth = playbook.slot("PERP_ETH_USDC", MarginMode.ISOLATED)
    btc = playbook.slot("PERP_BTC_USDC", MarginMode.CROSS)
    assert eth is not None and btc is not None
    assert eth.leverage == 5 and btc.leverage == 3
    assert [(o.side, o.type, o.price, o.quantity) for o in eth.orders] == [
        (Side.BUY, OrderType.LIMIT, Decimal(2700), Decimal("0.05")),
        (Side.BUY, OrderType.LIMIT, Decimal(2550), Decimal("0.05")),
    ]
    assert eth.margin is not None and eth.margin.liq_distance is not None
    assert [(o.price, o.quantity) for o in btc.orders] == [(Decimal(88000), Decimal("0.001"))]


def test_multi_symbol_holds_one_symbol_in_both_modes() -> None:
    playbook = load_playbook(PLAYBOOKS / "multi-symbol.yaml", env={})
    modes = {spec.margin_mode for spec in playbook.symbols if spec.symbol == "PERP_ETH_USDC"}
    assert modes == {MarginMode.CROSS, MarginMode.ISOLATED}
    assert len(playbook.symbol_names) >= 3


def test_testnet_takes_its_account_from_the_environment() -> None:
    path = PLAYBOOKS / "testnet.yaml"
    assert load_playbook(path, env={}).account == "main"
    playbook = load_playbook(path, env={"RUNNER_ACCOUNT": "alice"})
    assert (playbook.network, playbook.account) == ("testnet", "alice")


def test_the_reference_page_opening_example_is_valid() -> None:
    text = (PLAYBOOKS.parent / "docs" / "playbook.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    playbook = parse_playbook(block, "docs/playbook.md", env={})
    assert playbook.name == "eth-swing"

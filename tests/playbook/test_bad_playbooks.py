"""A table of broken playbooks: each reported at its exact file:line:col, exit 1, no traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.cli.main import main

HEADER = "version: 1\nname: bad\n"


def _playbook(body: str) -> str:
    return HEADER + textwrap.dedent(body).lstrip("\n")


def _orders(*flows: str) -> str:
    """An `orders:` list of the ETH block, one flow mapping per order."""
    return "    orders:\n" + "".join(f"      - {{{flow}}}\n" for flow in flows)


ETH = """
symbols:
  PERP_ETH_USDC:
    margin_mode: ISOLATED
    leverage: 5
"""

# (id, file text, "line:col", field path or "", substring of the message and fix)
CASES: list[tuple[str, str, str, str, str]] = [
    (
        "leverage-wrong-type",
        _playbook(ETH.replace("leverage: 5", "leverage: ten")),
        "6:15",
        "symbols.PERP_ETH_USDC.leverage",
        "expected a whole number, found the text 'ten'",
    ),
    (
        "leverage-above-100",
        _playbook(ETH.replace("leverage: 5", "leverage: 150")),
        "6:15",
        "symbols.PERP_ETH_USDC.leverage",
        "150 is above the maximum 100 (use an integer from 1 to 100)",
    ),
    (
        "leverage-zero",
        _playbook(ETH.replace("leverage: 5", "leverage: 0")),
        "6:15",
        "symbols.PERP_ETH_USDC.leverage",
        "0 is below the minimum 1",
    ),
    (
        "leverage-decimal",
        _playbook(ETH.replace("leverage: 5", "leverage: 5.5")),
        "6:15",
        "symbols.PERP_ETH_USDC.leverage",
        "expected a whole number, found 5.5",
    ),
    (
        "leverage-above-guard",
        _playbook("guards:\n  max_leverage: 3\n" + ETH.lstrip("\n")),
        "8:15",
        "symbols.PERP_ETH_USDC.leverage",
        "5 is above guards.max_leverage 3",
    ),
    (
        "unknown-field-did-you-mean",
        _playbook(
            ETH + "    orders:\n      - {key: a, side: BUY, type: LIMIT, price: 2500, quantiy: 1}\n"
        ),
        "8:55",
        "symbols.PERP_ETH_USDC.orders[0].quantiy",
        "unknown field (did you mean 'quantity'? valid fields: key, side, type, price, quantity",
    ),
    (
        "unknown-top-level-field",
        _playbook("netwrok: sim\n" + ETH.lstrip("\n")),
        "3:1",
        "netwrok",
        "did you mean 'network'?",
    ),
    (
        "symbol-outside-symbols",
        _playbook("symbols: {PERP_BTC_USDC: {margin_mode: CROSS, leverage: 1}}\nPERP_ETH_USDC: 1"),
        "4:1",
        "PERP_ETH_USDC",
        "symbols go under 'symbols:'",
    ),
    (
        "duplicate-key",
        _playbook(ETH + "    leverage: 7\n"),
        "7:5",
        "symbols.PERP_ETH_USDC.leverage",
        "duplicate key 'leverage' (first at line 6",
    ),
    (
        "duplicate-symbol",
        _playbook(ETH + "  PERP_ETH_USDC: {margin_mode: CROSS, leverage: 2}\n"),
        "7:3",
        "symbols.PERP_ETH_USDC",
        "duplicate key 'PERP_ETH_USDC' (first at line 4",
    ),
    (
        "bad-symbol-lowercase",
        _playbook(ETH.replace("PERP_ETH_USDC", "perp_eth_usdc")),
        "4:3",
        "symbols.perp_eth_usdc",
        "not an Orderly perpetual symbol (did you mean 'PERP_ETH_USDC'?",
    ),
    (
        "bad-symbol-bare-base",
        _playbook(ETH.replace("PERP_ETH_USDC", "ETH")),
        "4:3",
        "symbols.ETH",
        "did you mean 'PERP_ETH_USDC'?",
    ),
    (
        "margin-mode-lowercase",
        _playbook(ETH.replace("ISOLATED", "isolated")),
        "5:18",
        "symbols.PERP_ETH_USDC.margin_mode",
        "'isolated' is not one of CROSS, ISOLATED (did you mean 'ISOLATED'?)",
    ),
    (
        "side-yes-is-not-a-boolean-or-side",
        _playbook(
            ETH + "    orders:\n      - key: a\n        side: yes\n        type: MARKET\n"
            "        quantity: 1\n"
        ),
        "9:15",
        "symbols.PERP_ETH_USDC.orders[0].side",
        "'yes' is not one of BUY, SELL",
    ),
    (
        "halt-yes-is-text",
        _playbook("halt: on\n" + ETH.lstrip("\n")),
        "3:7",
        "halt",
        "expected true or false, found the text 'on' (write true or false; yes/no/on/off",
    ),
    (
        "quantity-zero",
        _playbook(ETH + _orders("key: a, side: BUY, type: LIMIT, price: 2500, quantity: 0")),
        "8:65",
        "symbols.PERP_ETH_USDC.orders[0].quantity",
        "0 must be greater than 0",
    ),
    (
        "quantity-negative",
        _playbook(
            ETH
            + "    orders:\n      - {key: a, side: BUY, type: LIMIT, price: 2500, quantity: -0.5}\n"
        ),
        "8:65",
        "symbols.PERP_ETH_USDC.orders[0].quantity",
        "-0.5 must be greater than 0",
    ),
    (
        "quantity-zero-as-text",
        _playbook(ETH + _orders("key: a, side: BUY, type: LIMIT, price: 2500, quantity: '0'")),
        "8:65",
        "symbols.PERP_ETH_USDC.orders[0].quantity",
        "0 must be greater than 0",
    ),
    (
        "price-not-a-number",
        _playbook(ETH + _orders("key: a, side: BUY, type: LIMIT, price: 25o0, quantity: 1")),
        "8:49",
        "symbols.PERP_ETH_USDC.orders[0].price",
        "'25o0' is not a number",
    ),
    (
        "market-with-price",
        _playbook(ETH + _orders("key: a, side: BUY, type: MARKET, price: 2500, quantity: 1")),
        "8:50",
        "symbols.PERP_ETH_USDC.orders[0].price",
        "a MARKET order takes no price",
    ),
    (
        "limit-without-price",
        _playbook(ETH + _orders("key: a, side: BUY, type: LIMIT, quantity: 1")),
        "8:9",
        "symbols.PERP_ETH_USDC.orders[0].price",
        "a LIMIT order needs a price",
    ),
    (
        "missing-required-quantity",
        _playbook(ETH + _orders("key: a, side: BUY, type: LIMIT, price: 1")),
        "8:9",
        "symbols.PERP_ETH_USDC.orders[0].quantity",
        "required field is missing (add 'quantity:' here)",
    ),
    (
        "visible-above-quantity",
        _playbook(
            ETH
            + _orders(
                "key: a, side: BUY, type: LIMIT, price: 2500, quantity: 1, visible_quantity: 2"
            )
        ),
        "8:86",
        "symbols.PERP_ETH_USDC.orders[0].visible_quantity",
        "2 is above the quantity 1",
    ),
    (
        "duplicate-order-key",
        _playbook(
            ETH + "    orders:\n"
            "      - {key: dip, side: BUY, type: LIMIT, price: 2500, quantity: 1}\n"
            "      - {key: dip, side: BUY, type: LIMIT, price: 2400, quantity: 1}\n"
        ),
        "9:15",
        "symbols.PERP_ETH_USDC.orders[1].key",
        "order key 'dip' is already used at line 8",
    ),
    (
        "name-and-key-over-id-budget",
        _playbook(
            ETH + _orders("key: a-rather-long-order-key, side: BUY, type: MARKET, quantity: 1")
        ).replace("name: bad", "name: a-long-playbook-name"),
        "8:15",
        "symbols.PERP_ETH_USDC.orders[0].key",
        "have 43 characters together, more than the 26",
    ),
    (
        "name-not-lowercase",
        _playbook(ETH).replace("name: bad", "name: ETH_Swing"),
        "2:7",
        "name",
        "'ETH_Swing' is not a valid name (did you mean 'eth-swing'?",
    ),
    (
        "margin-rule-on-cross",
        _playbook(ETH.replace("ISOLATED", "CROSS") + "    margin:\n      max_margin: 100\n"),
        "7:5",
        "symbols.PERP_ETH_USDC.margin",
        "margin rules apply only to ISOLATED positions",
    ),
    (
        "liq-distance-out-of-order",
        _playbook(
            ETH + "    margin:\n      liq_distance: {min_pct: 20, target_pct: 15, max_pct: 40}"
        ),
        "8:21",
        "symbols.PERP_ETH_USDC.margin.liq_distance",
        "min_pct 20, target_pct 15, max_pct 40 are out of order",
    ),
    (
        "leverage-band-out-of-order",
        _playbook(ETH + "    margin:\n      leverage_band: {min: 8, max: 4}\n"),
        "8:22",
        "symbols.PERP_ETH_USDC.margin.leverage_band",
        "min 8 is above max 4",
    ),
    (
        "margin-bounds-out-of-order",
        _playbook(ETH + "    margin:\n      margin_bounds: {min: 500, max: 100}\n"),
        "8:22",
        "symbols.PERP_ETH_USDC.margin.margin_bounds",
        "min 500 is above max 100",
    ),
    (
        "same-mode-twice-in-list",
        _playbook(
            "symbols:\n  PERP_ETH_USDC:\n    - {margin_mode: CROSS, leverage: 2}\n"
            "    - {margin_mode: CROSS, leverage: 3}\n"
        ),
        "6:21",
        "symbols.PERP_ETH_USDC[1].margin_mode",
        "PERP_ETH_USDC has a second CROSS block (first at line 5)",
    ),
    (
        "symbol-block-wrong-form",
        _playbook("symbols:\n  PERP_ETH_USDC: 5\n"),
        "4:18",
        "symbols.PERP_ETH_USDC",
        "expected a mapping or a list, found 5",
    ),
    (
        "bad-cron-field",
        _playbook("schedule: '*/5 25 * * *'\n" + ETH.lstrip("\n")),
        "3:11",
        "schedule",
        "hour field '25': 25 is outside 0-23",
    ),
    (
        "cron-with-four-fields",
        _playbook("schedule: '*/5 * * *'\n" + ETH.lstrip("\n")),
        "3:11",
        "schedule",
        "a cron string has 5 fields, found 4",
    ),
    (
        "unquoted-cron-read-as-alias",
        _playbook("schedule: */5 * * * *\n" + ETH.lstrip("\n")),
        "3:12",
        "",
        "a value starting with '*' is read as a YAML alias (put the value in quotes",
    ),
    (
        "interval-too-short",
        _playbook("schedule: {every: 2s}\n" + ETH.lstrip("\n")),
        "3:19",
        "schedule.every",
        "'2s' is shorter than the minimum 5s",
    ),
    (
        "interval-bad-unit",
        _playbook("schedule: {every: 5d}\n" + ETH.lstrip("\n")),
        "3:19",
        "schedule.every",
        "'5d' is not a valid every",
    ),
    (
        "unset-env-var",
        _playbook("account: ${RUNNER_TEST_UNSET_VAR}\n" + ETH.lstrip("\n")),
        "3:10",
        "account",
        "environment variable RUNNER_TEST_UNSET_VAR is not set (export RUNNER_TEST_UNSET_VAR, "
        "or give a default",
    ),
    (
        "env-var-named-like-a-secret",
        _playbook("account: ${ORDERLY_SECRET}\n" + ETH.lstrip("\n")),
        "3:10",
        "account",
        "environment variable ORDERLY_SECRET looks like a credential",
    ),
    ("empty-file", "", "1:1", "", "the file is empty"),
    ("only-comments", "# nothing here\n", "1:1", "", "the file is empty"),
    (
        "list-at-root",
        "- version: 1\n- name: x\n",
        "1:1",
        "",
        "a playbook must be a mapping of fields, found a list",
    ),
    (
        "two-documents",
        _playbook(ETH) + "---\n" + _playbook(ETH),
        "7:1",
        "",
        "a second YAML document ('---') in the file",
    ),
    (
        "tab-indentation",
        _playbook(ETH.replace("    leverage", "\tleverage")),
        "6:1",
        "",
        "tab character in the indentation (YAML indents with spaces only",
    ),
    (
        "broken-yaml",
        _playbook(ETH + "    orders: [\n"),
        "8:1",
        "",
        "invalid YAML:",
    ),
    (
        "python-tag-refused",
        _playbook("account: !!python/object/apply:os.system ['true']\n" + ETH.lstrip("\n")),
        "3:10",
        "account",
        "tag '!!python/object/apply:os.system' is not allowed",
    ),
    (
        "version-2",
        _playbook(ETH).replace("version: 1", "version: 2"),
        "1:10",
        "version",
        "2 is not supported (write version: 1)",
    ),
    (
        "missing-symbols",
        HEADER,
        "1:1",
        "symbols",
        "required field is missing",
    ),
    (
        "empty-margin-rules",
        _playbook(ETH + "    margin: {}\n"),
        "7:13",
        "symbols.PERP_ETH_USDC.margin",
        "is empty",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "field", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_playbook_is_reported_at_its_line_and_column(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    where: str,
    field: str,
    expected: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert exited.value.code == 1
    assert "Traceback" not in out + err
    prefix = f"{path}:{where}: " + (f"{field}: " if field else "")
    lines = [line for line in out.splitlines() if line.startswith(prefix)]
    assert any(expected in line for line in lines), out


def test_table_has_at_least_25_distinct_cases() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 25
    assert len({case[1] for case in CASES}) == len(CASES)


def test_all_problems_of_a_file_are_reported_sorted_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "version: 1\nname: Bad_Name\nhalt: yes\nsymbols:\n  PERP_ETH_USDC:\n"
        "    margin_mode: CROSS\n    leverage: 500\n    margin: {max_margin: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit):
        main(["validate", str(path)])
    lines = capsys.readouterr().out.splitlines()
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == [2, 3, 7, 8]
    assert numbers == sorted(numbers)


def test_reading_problems_do_not_hide_schema_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "both.yaml"
    path.write_text(
        "version: 1\nname: x\naccount: ${RUNNER_TEST_UNSET_VAR}\nname: y\nsymbols:\n"
        "  PERP_ETH_USDC: {margin_mode: CROSS, leverage: 500}\n",
        encoding="utf-8",
    )
    code = main_exit_code(["validate", str(path)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split(": ", 2)[1] for line in lines] == [
        "account",
        "name",
        "symbols.PERP_ETH_USDC.leverage",
    ]
    assert "is not set" in lines[0] and "duplicate key" in lines[1] and "above" in lines[2]


def main_exit_code(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(args)
    code = exited.value.code
    assert isinstance(code, int)
    return code

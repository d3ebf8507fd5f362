"""The YAML loader: exact numbers, YAML 1.2 scalars, positions, interpolation, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.playbook.errors import PlaybookError
from runner.playbook.load import parse_document


def _data(text: str, env: dict[str, str] | None = None) -> dict[str, object]:
    return parse_document(text, "t.yaml", env or {}).data


def test_numbers_keep_their_exact_source_text() -> None:
    data = _data("a: 0.1\nb: 0.10\nc: 2500\nd: '0.3'\ne: 1e-3\n")
    assert data["a"] == Decimal("0.1") and str(data["a"]) == "0.1"
    assert str(data["b"]) == "0.10"
    assert data["c"] == 2500 and isinstance(data["c"], int)
    assert data["d"] == "0.3"  # quoted: text, which the schema accepts for prices
    assert data["e"] == Decimal("0.001")
    assert not any(isinstance(v, float) for v in data.values())


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF", "y", "n"])
def test_yaml11_boolean_words_stay_text(word: str) -> None:
    assert _data(f"a: {word}\n")["a"] == word


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("TRUE", True)])
def test_only_true_and_false_are_booleans(text: str, value: bool) -> None:
    assert _data(f"a: {text}\n")["a"] is value


@pytest.mark.parametrize("text", ["0x1F", "0o17", "1_000", "1:30", "2024-01-01", ".inf", ".nan"])
def test_yaml11_number_and_date_forms_stay_text(text: str) -> None:
    assert _data(f"a: {text}\n")["a"] == text


def test_keys_are_their_source_text() -> None:
    assert list(_data("on: 1\n1: 2\nnull: 3\n")) == ["on", "1", "null"]


def test_null_forms() -> None:
    assert _data("a:\nb: ~\nc: null\n") == {"a": None, "b": None, "c": None}


def test_positions_are_one_based_for_values_and_keys() -> None:
    doc = parse_document("version: 1\nsymbols:\n  PERP_ETH_USDC:\n    leverage: 5\n", "t.yaml", {})
    assert doc.position(("symbols", "PERP_ETH_USDC", "leverage")) == (4, 15)
    assert doc.position(("symbols", "PERP_ETH_USDC"), at_key=True) == (3, 3)
    # a missing field falls back to its nearest parent
    assert doc.position(("symbols", "PERP_ETH_USDC", "orders"), at_key=True) == (3, 3)


def test_env_interpolation_with_and_without_default() -> None:
    env = {"RUNNER_ACCOUNT": "alice", "LEV": "7", "EMPTY": ""}
    data = _data(
        "a: ${RUNNER_ACCOUNT}\nb: ${MISSING:-main}\nc: x-${RUNNER_ACCOUNT}-y\n"
        "d: ${LEV}\ne: '${LEV}'\nf: ${EMPTY:-fallback}\ng: $${LITERAL}\n",
        env,
    )
    assert data["a"] == "alice"
    assert data["b"] == "main"
    assert data["c"] == "x-alice-y"
    assert data["d"] == 7  # unquoted: resolved after interpolation, like a written number
    assert data["e"] == "7"  # quoted: stays text
    assert data["f"] == "fallback"
    assert data["g"] == "${LITERAL}"


def test_env_interpolation_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_TEST_PROFILE", "bob")
    assert parse_document("a: ${RUNNER_TEST_PROFILE}\n", "t.yaml").data["a"] == "bob"


def test_keys_are_not_interpolated() -> None:
    assert list(_data("${X}: 1\n", {"X": "y"})) == ["${X}"]


def test_every_unset_variable_is_reported() -> None:
    with pytest.raises(PlaybookError) as caught:
        _data("a: ${ONE}\nb: ${TWO}\n")
    assert [(p.line, p.col) for p in caught.value.problems] == [(1, 4), (2, 4)]


def test_anchors_and_merge_keys_work_and_written_keys_win() -> None:
    data = _data(
        "base: &base {side: BUY, type: LIMIT, quantity: 1}\n"
        "order:\n  <<: *base\n  quantity: 2\n"
        "again: *base\n"
    )
    assert data["order"] == {"side": "BUY", "type": "LIMIT", "quantity": 2}
    assert data["again"] == {"side": "BUY", "type": "LIMIT", "quantity": 1}


def test_an_alias_bomb_is_refused_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(PlaybookError, match="nests or repeats too much"):
        _data("\n".join(lines) + "\n")


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(PlaybookError, match="nests or repeats too much"):
        _data("a: &a [*a]\n")


@pytest.mark.parametrize(
    "text",
    ["a: !!binary aGVsbG8=\n", "a: !custom 1\n", "a: !!omap [b: 1]\n", "a: !!set {x}\n"],
)
def test_non_standard_tags_are_refused(text: str) -> None:
    with pytest.raises(PlaybookError, match="is not allowed in a playbook"):
        _data(text)


def test_standard_tags_are_honoured() -> None:
    data = _data("a: !!str 5\nb: !!float 1\nc: !!int '3'\n")
    assert data == {"a": "5", "b": Decimal("1"), "c": 3}


def test_every_duplicate_key_is_reported_at_its_second_occurrence() -> None:
    with pytest.raises(PlaybookError) as caught:
        _data("a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n")
    assert [(p.line, p.field_path) for p in caught.value.problems] == [(3, "a"), (6, "c.d")]


def test_a_utf8_bom_is_accepted(tmp_path: object) -> None:
    from pathlib import Path

    from runner.playbook.load import read_document

    assert isinstance(tmp_path, Path)
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_document(path, {}).data == {"a": 1}


def test_control_characters_are_reported_with_a_position() -> None:
    with pytest.raises(PlaybookError) as caught:
        _data("a: 1\nb: x\x07\n")
    problem = caught.value.problems[0]
    assert (problem.line, problem.col) == (2, 5)
    assert "invalid character" in problem.message

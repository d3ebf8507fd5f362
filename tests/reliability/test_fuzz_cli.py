"""Fuzzing the command line with generated playbooks, valid and broken: `runner validate` and
`runner plan` (against the embedded simulator) always end with exit 0 or 1 (plan: 3 when a
guard blocks; 2 only with --detailed-exitcode) and a message, never with a traceback."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli.main import main

SYMBOLS = ["PERP_ETH_USDC", "PERP_BTC_USDC", "PERP_SOL_USDC"] * 3 + ["PERP_NOPE_USDC", "eth"]
NUMBERS = st.one_of(
    st.integers(-10, 100_000),
    st.decimals(min_value=-1, max_value=100_000, places=4, allow_nan=False).map(str),
    st.sampled_from(["1e999", "-0", "NaN", "Infinity", "0.000000000001", "1,5", "", "10x"]),
    st.floats(allow_nan=True, allow_infinity=True),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=30),
    st.text(min_size=200, max_size=400),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    NUMBERS,
)


@st.composite
def order(draw: st.DrawFn, key: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["LIMIT", "LIMIT", "POST_ONLY", "MARKET", "IOC", "FOK"]))
    row: dict[str, Any] = {
        "key": key,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "type": kind,
        "quantity": draw(st.sampled_from([0.001, 0.01, 0.05, 1, "0.2"])),
    }
    if kind != "MARKET":
        row["price"] = draw(st.one_of(st.integers(1_000, 120_000), st.sampled_from(["2700"])))
    if draw(st.booleans()):
        row["reduce_only"] = draw(st.booleans())
    if draw(st.booleans()):
        row["repeat"] = draw(st.booleans())
    if kind == "LIMIT" and draw(st.booleans()):
        row["visible_quantity"] = 0.001
    return row


@st.composite
def block(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["ISOLATED", "CROSS"]))
    out: dict[str, Any] = {"margin_mode": mode, "leverage": draw(st.integers(1, 25))}
    keys = draw(st.lists(st.sampled_from(["a", "b", "dip-1", "tp"]), unique=True, max_size=3))
    if keys:
        out["orders"] = [draw(order(k)) for k in keys]
    if mode == "ISOLATED" and draw(st.booleans()):
        low = draw(st.integers(1, 20))
        out["margin"] = draw(
            st.sampled_from(
                [
                    {"liq_distance": {"min_pct": low, "target_pct": low + 5, "max_pct": low + 20}},
                    {"max_margin": draw(st.integers(1, 2000))},
                    {"leverage_band": {"max": draw(st.integers(2, 20))}},
                ]
            )
        )
    return out


BLOCK = block()
PLAYBOOK = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "name": st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
        "network": st.just("sim"),
        "symbols": st.dictionaries(st.sampled_from(SYMBOLS), BLOCK, min_size=1, max_size=2),
    },
    optional={
        "guards": st.fixed_dictionaries(
            {},
            optional={
                "max_leverage": st.integers(1, 50),
                "max_order_notional": st.integers(1, 10_000),
                "max_open_orders": st.integers(1, 10),
                "max_isolated_margin": st.integers(0, 5_000),
                "max_margin_added_per_day": st.integers(0, 1_000),
            },
        ),
        "halt": st.booleans(),
        "schedule": st.sampled_from(["*/5 * * * *", "0 * * * 1-5", {"every": "1m"}, "61 * * *"]),
    },
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A playbook document that mostly follows the schema, with a few random mutations."""
    doc = draw(PLAYBOOK)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        places = [p for p in paths(doc) if p]
        if not places:
            break
        where = draw(st.sampled_from(places))
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["delete", "replace", "extra", "number"]))
        last = where[-1]
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(JUNK)
        elif action == "number":
            parent[last] = draw(NUMBERS)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(JUNK)
    return doc


RAW = st.sampled_from(
    [
        "",
        "version: 1\nname: [unclosed\n",
        "\tversion: 1\n",
        "- just\n- a list\n",
        "version: 1\nname: a\nname: b\nnetwork: sim\nsymbols: {}\n",
        "version: &a 1\nname: *a\nnetwork: sim\nsymbols: {PERP_ETH_USDC: {leverage: *a}}\n",
        "name: ${UNSET_FUZZ_VAR}\nversion: 1\nnetwork: sim\nsymbols: {}\n",
        "\x00\x01\x02",
        "version: 1\n" + "a: " * 500 + "\n",
    ]
)

STATE = Path(tempfile.mkdtemp(prefix="runner-fuzz-"))
atexit.register(shutil.rmtree, STATE, True)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERLY_", "RUNNER_"))}
    env.update(RUNNER_STATE_DIR=str(STATE / "state"), HOME=str(STATE / "home"))
    code: int | None = None
    with (
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    assert code is not None, "main() returned without exiting"
    return code, out.getvalue(), err.getvalue()


def check(path: Path) -> None:
    code, out, err = run_cli(["validate", str(path)])
    assert code in (0, 1), (code, out, err)
    assert "Traceback" not in out + err
    if code == 1:
        assert err.strip() or out.strip(), "validate failed without a message"
    for extra, allowed in (([], {0, 1, 3}), (["--detailed-exitcode"], {0, 1, 2, 3})):
        code, out, err = run_cli(["plan", str(path), *extra])
        assert code in allowed, (code, out, err)
        assert "Traceback" not in out + err
        if code == 1:
            assert err.strip(), "plan failed without a message"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=mutated())
def test_generated_playbooks_never_crash_validate_or_plan(doc: Any) -> None:
    path = STATE / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    check(path)


@settings(max_examples=9, deadline=None)
@given(text=RAW)
def test_broken_yaml_never_crashes_validate_or_plan(text: str) -> None:
    path = STATE / "raw.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check(path)


def test_a_missing_or_unreadable_playbook_is_a_message(tmp_path: Path) -> None:
    for target in (tmp_path / "absent.yaml", tmp_path):
        code, out, err = run_cli(["plan", str(target)])
        assert code == 1 and err.strip() and "Traceback" not in out + err

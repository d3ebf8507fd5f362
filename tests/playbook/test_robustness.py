"""Whatever a playbook holds, validation ends in a model or a PlaybookError, never a crash."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.playbook.build import parse_playbook
from runner.playbook.errors import PlaybookError, Problem

BASE: dict[str, Any] = {
    "version": 1,
    "name": "fuzz",
    "schedule": "*/5 * * * *",
    "guards": {"max_leverage": 10, "max_order_notional": 100},
    "symbols": {
        "PERP_ETH_USDC": [
            {
                "margin_mode": "ISOLATED",
                "leverage": 5,
                "orders": [
                    {"key": "a", "side": "BUY", "type": "LIMIT", "price": 2500, "quantity": 1}
                ],
                "margin": {
                    "liq_distance": {"min_pct": 10, "target_pct": 15, "max_pct": 30},
                    "leverage_band": {"min": 2, "max": 8},
                },
            }
        ]
    },
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["yes", "0", "-1", "1e3", "BUY", "CROSS", "x" * 40, "", "${NOPE}", "*/0"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _problems_of(text: str) -> tuple[Problem, ...]:
    """Validate `text`: no problems, or the problems of the PlaybookError (anything else raises)."""
    try:
        parse_playbook(text, "fuzz.yaml", env={})
    except PlaybookError as exc:
        return exc.problems
    return ()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


ALL_PATHS = _paths(BASE)[1:]


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in node.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(node)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_PATHS), values)
def test_any_value_anywhere_gives_a_model_or_a_playbook_error(
    path: tuple[Any, ...], value: Any
) -> None:
    problems = _problems_of(yaml.safe_dump(_replace(BASE, path, value), sort_keys=False))
    assert all(p.line >= 1 and p.col >= 1 for p in problems)
    assert all("\n" not in p.render() for p in problems)


def test_the_fuzz_base_is_valid() -> None:
    assert parse_playbook(yaml.safe_dump(BASE, sort_keys=False), env={}).name == "fuzz"


yaml_alphabet = st.sampled_from([*"ab:-{}[],'\"&*!<>|#%@`\t\n ?~.0123456789$", "${X}", "<<"])


@settings(max_examples=300, deadline=None)
@given(st.lists(yaml_alphabet, max_size=40).map("".join))
def test_any_text_gives_a_model_or_a_playbook_error(text: str) -> None:
    problems = _problems_of("version: 1\nname: t\n" + text)
    assert all("\n" not in p.render() for p in problems)

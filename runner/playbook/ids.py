"""Deterministic client_order_ids: how runner recognises its own orders.

    client_order_id = <playbook name> "-" <order key> "-" <tag:3><spec hash:5>

`tag` is derived from the playbook name alone, so an order of playbook `eth-swing` is never
mistaken for one of playbook `eth` (whose prefix `eth-` it also starts with): the tag must
match too. The spec hash covers every field that changes what rests on the book, so a changed
spec yields a new id (cancel and replace), while an unchanged spec always yields the same id
(a retry or a re-run can look it up instead of placing it twice). Orderly allows 36
characters, letters, digits and hyphens, not starting with a hyphen (orderly-api.md §4.2).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from runner.enums import MarginMode
from runner.playbook.model import OrderSpec

MAX_CLIENT_ORDER_ID = 36
_SUFFIX_LEN = 8  # 3 characters of name tag + 5 of spec hash
_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
# name + key may use what is left after the two hyphens and the suffix
NAME_AND_KEY_BUDGET = MAX_CLIENT_ORDER_ID - 2 - _SUFFIX_LEN


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def name_tag(playbook_name: str) -> str:
    return _base32(hashlib.sha256(b"runner-name:" + playbook_name.encode()).digest(), 3)


def _canonical(value: Decimal | None) -> str:
    if value is None:
        return "-"
    normalized = value.normalize()
    return format(normalized, "f")


def spec_hash(symbol: str, margin_mode: MarginMode, order: OrderSpec) -> str:
    """Hash of what makes an order what it is on the book (not `repeat`, not the location)."""
    text = "|".join(
        (
            symbol,
            margin_mode.value,
            order.side.value,
            order.type.value,
            _canonical(order.price),
            _canonical(order.quantity),
            "R" if order.reduce_only else "-",
            _canonical(order.visible_quantity),
        )
    )
    return _base32(hashlib.sha256(text.encode()).digest(), 5)


def client_order_id(
    playbook_name: str, symbol: str, margin_mode: MarginMode, order: OrderSpec
) -> str:
    suffix = name_tag(playbook_name) + spec_hash(symbol, margin_mode, order)
    coid = f"{playbook_name}-{order.key}-{suffix}"
    if len(coid) > MAX_CLIENT_ORDER_ID:  # validation keeps playbooks inside the budget
        raise ValueError(f"client_order_id {coid!r} exceeds {MAX_CLIENT_ORDER_ID} characters")
    return coid


def is_ours(playbook_name: str, coid: str | None) -> bool:
    """True when `coid` was minted by this playbook (any key, any spec, current or stale)."""
    if not coid or not coid.startswith(playbook_name + "-"):
        return False
    rest = coid[len(playbook_name) + 1 :]
    # rest = <key> "-" <tag><hash>; the key is non-empty
    if len(rest) < _SUFFIX_LEN + 2 or rest[-_SUFFIX_LEN - 1] != "-":
        return False
    return rest[-_SUFFIX_LEN:][:3] == name_tag(playbook_name)


def order_key_of(playbook_name: str, coid: str) -> str:
    """The order key inside one of our ids (call only when `is_ours` is true)."""
    return coid[len(playbook_name) + 1 : -_SUFFIX_LEN - 1]

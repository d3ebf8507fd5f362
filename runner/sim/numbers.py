"""Decimal parsing of request values and exact JSON encoding of responses.

Orderly answers with JSON numbers; the simulator computes in Decimal and must never round a
value through float on the way out, so responses are encoded here by hand. Requests may carry
numbers or numeric strings (ccxt sends strings). Never touches the global decimal context.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from runner.sim.errors import INVALID_PARAM, SimError

_EIGHT_DP = Decimal("1e-8")


def parse_decimal(value: object, field: str, *, positive: bool = False) -> Decimal:
    """A request value (JSON number, numeric string or Decimal) as a finite Decimal."""
    if isinstance(value, bool) or value is None:
        raise SimError(INVALID_PARAM, f"{field} must be a number")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise SimError(INVALID_PARAM, f"{field} must be a number") from None
    else:
        raise SimError(INVALID_PARAM, f"{field} must be a number")
    if not result.is_finite():
        raise SimError(INVALID_PARAM, f"{field} must be a finite number")
    if positive and result <= 0:
        raise SimError(INVALID_PARAM, f"{field} must be a positive number")
    return result


def parse_int(value: object, field: str) -> int:
    """An integer request value; integral numeric strings and decimals are accepted."""
    number = parse_decimal(value, field)
    if number != number.to_integral_value():
        raise SimError(INVALID_PARAM, f"{field} must be an integer")
    return int(number)


def parse_bool(value: object, field: str) -> bool:
    """A boolean request value; "true"/"false" strings are accepted (query strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SimError(INVALID_PARAM, f"{field} must be a boolean")


def round8(value: Decimal) -> Decimal:
    """A derived figure (ratio, PnL, liquidation price) rounded to 8 decimal places."""
    return value.quantize(_EIGHT_DP)


def decimal_text(value: Decimal) -> str:
    """Plain decimal text of a Decimal: no exponent, no trailing zeros, no negative zero."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


# Decimals travel through the C JSON encoder as marked strings, then lose their quotes. The
# marker carries a random token, so no text a client sends can be mistaken for a number.
_MARK = "\u2063" + secrets.token_hex(8)
_MARKED = re.compile('"' + re.escape(_MARK) + '([-0-9.]+)"')


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return _MARK + decimal_text(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_json(value: Any) -> bytes:
    """JSON bytes of a response, with every Decimal written as an exact JSON number."""
    text = json.dumps(value, default=_mark_decimal, separators=(",", ":"), ensure_ascii=False)
    return _MARKED.sub(r"\1", text).encode()

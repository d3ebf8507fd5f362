"""Bytes on the wire: request bodies and query strings out, typed fields in.

Bodies are serialised here, never by httpx, so that the bytes signed are the bytes sent:
compact JSON, keys in the order given, Decimal written as a plain JSON number (no exponent,
never through float). Query strings keep the caller's parameter order and leave `:` and `,`
unescaped, so the raw and the percent-decoded request-target are the same text and a server
verifying either one accepts the signature (shared/orderly-api.md §2.8, vectors' server_rule).

`Fields` reads one JSON object of a response and turns a missing or mistyped field into a
`ProtocolError` naming the field and the endpoint. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

from runner.orderly.errors import ProtocolError, UsageError

E = TypeVar("E", bound=Enum)

_QUERY_SAFE = ":,@"  # legal in a query (RFC 3986) and left raw by every Orderly client
_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def decimal_text(value: Decimal) -> str:
    """A Decimal as JSON number text: positional notation, never an exponent."""
    if not value.is_finite():
        raise ValueError(f"cannot send a non-finite number ({value})")
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def wire_value(value: object) -> str:
    """The text of one query-string value."""
    if isinstance(value, bool):
        return "true" if value else "false"  # never Python's "True" (§2.7 connector pitfall)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"cannot put a {type(value).__name__} in a query string")


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, Enum):
        out.append(json.dumps(str(value.value)))
    elif isinstance(value, str):
        out.append(json.dumps(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        # float is refused on purpose: a price must never pass through binary floating point.
        raise TypeError(f"cannot serialise a {type(value).__name__} into a request body")


def encode_json(value: object) -> bytes:
    """Compact JSON bytes of `value`, in insertion order, Decimals as exact numbers."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def build_query(params: Iterable[tuple[str, object]]) -> str:
    """`k=v&k=v` in the order given, skipping None values; '' when nothing is left."""
    pairs = [
        f"{quote(key, safe='')}={quote(wire_value(value), safe=_QUERY_SAFE)}"
        for key, value in params
        if value is not None
    ]
    return "&".join(pairs)


def path_segment(value: str) -> str:
    """`value` if it can go in a URL path as it is (a symbol, an id), else UsageError.

    Refusing '/', '?', '%' and friends keeps a caller's value from changing which endpoint a
    signed request reaches.
    """
    if not _SEGMENT.fullmatch(value):
        raise UsageError(f"{value[:60]!r} cannot be used in a request path")
    return value


def parse_json(content: bytes) -> Any:
    """Parse a response body; every non-integer number becomes a Decimal."""
    return json.loads(content, parse_float=Decimal)


class Fields:
    """Typed access to one JSON object of a response, for one endpoint."""

    __slots__ = ("_endpoint", "_obj")

    def __init__(self, obj: object, endpoint: tuple[str, str], what: str = "data") -> None:
        if not isinstance(obj, dict):
            raise ProtocolError(
                endpoint[0], endpoint[1], None, None, f"{what} is not a JSON object"
            )
        self._obj: dict[str, Any] = obj
        self._endpoint = endpoint

    def _fail(self, name: str, problem: str) -> ProtocolError:
        return ProtocolError(
            self._endpoint[0], self._endpoint[1], None, None, f"field '{name}' {problem}"
        )

    def has(self, name: str) -> bool:
        return self._obj.get(name) is not None

    def raw(self, name: str) -> Any:
        if name not in self._obj:
            raise self._fail(name, "is missing")
        return self._obj[name]

    def sub(self, name: str) -> Fields:
        return Fields(self.raw(name), self._endpoint, f"field '{name}'")

    def rows(self, name: str = "rows") -> list[Fields]:
        value = self.raw(name)
        if not isinstance(value, list):
            raise self._fail(name, "is not a list")
        return [Fields(row, self._endpoint, f"an item of '{name}'") for row in value]

    def dec(self, name: str) -> Decimal:
        value = self.raw(name)
        result = self._to_decimal(name, value)
        if result is None:
            raise self._fail(name, "is null")
        return result

    def opt_dec(self, name: str) -> Decimal | None:
        return self._to_decimal(name, self._obj.get(name))

    def dec_or(self, name: str, default: Decimal) -> Decimal:
        """The number, or `default` when the field is absent or null."""
        result = self._to_decimal(name, self._obj.get(name))
        return default if result is None else result

    def _to_decimal(self, name: str, value: object) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._fail(name, "is a boolean, expected a number")
        if isinstance(value, Decimal | int):
            return Decimal(value)
        if isinstance(value, str):  # numeric strings are legal on Orderly's wire (§4.2)
            try:
                result = Decimal(value)
            except ArithmeticError:
                raise self._fail(name, f"is not a number: {value[:40]!r}") from None
            if result.is_finite():
                return result
        raise self._fail(name, f"is not a number: {str(value)[:40]!r}")

    def integer(self, name: str) -> int:
        value = self.raw(name)
        result = self._to_int(name, value)
        if result is None:
            raise self._fail(name, "is null")
        return result

    def opt_integer(self, name: str) -> int | None:
        return self._to_int(name, self._obj.get(name))

    def _to_int(self, name: str, value: object) -> int | None:
        number = self._to_decimal(name, value)
        if number is None:
            return None
        if number != number.to_integral_value():
            raise self._fail(name, f"is not an integer: {number}")
        return int(number)

    def text(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str):
            raise self._fail(name, "is not a string")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self._obj.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self._fail(name, "is not a string")
        return str(value)

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self._obj.get(name)
        if value is None and default is not None:
            return default
        if isinstance(value, bool):
            return value
        raise self._fail(name, "is missing" if value is None else "is not a boolean")

    def enum(self, name: str, cls: type[E]) -> E:
        value = self.text(name)
        try:
            return cls(value)
        except ValueError:
            raise self._fail(name, f"has an unknown value {value[:40]!r}") from None

    def opt_enum(self, name: str, cls: type[E]) -> E | None:
        return None if self._obj.get(name) is None else self.enum(name, cls)

    def dec_map(self, name: str) -> dict[str, Decimal]:
        inner = self.sub(name)
        return {key: inner.dec(key) for key in inner._obj}

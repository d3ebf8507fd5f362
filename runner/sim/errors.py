"""The simulator's one error type: an Orderly error code, its HTTP status and a message.

Engine code raises SimError before it mutates anything, so a rejected request never leaves a
half-applied change behind. This module must never import the rest of the simulator.
"""

from __future__ import annotations

# Orderly's documented HTTP status per error code (orderly-api.md §3.3).
_STATUS_BY_CODE: dict[int, int] = {
    -1000: 500,
    -1001: 401,
    -1002: 401,
    -1003: 429,
    -1007: 409,
}

UNKNOWN = -1000
INVALID_SIGNATURE = -1001
UNAUTHORIZED = -1002
TOO_MANY_REQUEST = -1003
UNKNOWN_PARAM = -1004
INVALID_PARAM = -1005
RESOURCE_NOT_FOUND = -1006
DUPLICATE_REQUEST = -1007
RPC_REJECT = -1012
RISK_TOO_HIGH = -1101
MIN_NOTIONAL = -1102
PRICE_FILTER = -1103
SIZE_FILTER = -1104
PERCENTAGE_FILTER = -1105


class SimError(Exception):
    """A request the exchange refuses; rendered as Orderly's error envelope."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status if http_status is not None else status_for(code)


def status_for(code: int) -> int:
    """HTTP status Orderly uses for an error code (400 for every validation family)."""
    return _STATUS_BY_CODE.get(code, 400)

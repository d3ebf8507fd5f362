"""The errors the Orderly client raises, in kinds that decide what the caller does next.

- `Rejected` (and its kinds `AuthError`, `InvalidRequest`, `NotFound`, `Duplicate`,
  `RiskRejected`): the exchange looked at the request and refused it. Never retry as is.
- `RateLimited`: refused before processing; wait `retry_after` and try again.
- `ServerError`: the exchange failed on a read; retrying a read is safe.
- `Unavailable`: the request never reached the exchange (connect error, pool timeout); any
  request may be sent again.
- `OutcomeUnknown`: sent, and maybe processed (read timeout, connection lost after sending,
  5xx on a write). Look the result up before doing anything else.
- `ProtocolError`: the answer could not be understood (not JSON, missing fields).

Every message names the call (METHOD path), Orderly's code and message. This module must never
put request headers, signatures or secrets into an error: it is only ever given the method, the
path, the status and the response's code and message.
"""

from __future__ import annotations

from typing import ClassVar

from runner.errors import RunnerError

_MAX_MESSAGE = 300


class OrderlyError(RunnerError):
    """A call to Orderly failed; `kind` says how, the attributes say where."""

    kind: ClassVar[str] = "failed"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        method: str,
        path: str,
        http_status: int | None,
        code: int | None,
        message: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.http_status = http_status
        self.code = code
        self.message = message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "…"
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.method} {self.path}: {self.kind}"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.message:
            parts.append(self.message)
        text = ": ".join(parts)
        if self.http_status is not None:
            text += f" (HTTP {self.http_status})"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.method,
                self.path,
                self.http_status,
                self.code,
                self.message,
                self.retry_after,
            ),
        )


def _rebuild(
    cls: type[OrderlyError],
    method: str,
    path: str,
    http_status: int | None,
    code: int | None,
    message: str,
    retry_after: float | None,
) -> OrderlyError:
    return cls(method, path, http_status, code, message, retry_after=retry_after)


class Rejected(OrderlyError):
    """The exchange refused the request after looking at it; sending it again will not help."""

    kind = "rejected"


class AuthError(Rejected):
    """Bad signature, unknown or expired key, missing scope (-1001, -1002, HTTP 401)."""

    kind = "authentication failed"


class InvalidRequest(Rejected):
    """A parameter is unknown, malformed or breaks an order rule (-1004, -1005, -1102..-1105)."""

    kind = "invalid request"


class NotFound(Rejected):
    """The order, position or other resource does not exist (-1006)."""

    kind = "not found"


class Duplicate(Rejected):
    """The resource already exists, e.g. an open order with that client_order_id (-1007)."""

    kind = "duplicate"


class RiskRejected(Rejected):
    """Refused by risk or margin checks (-1101), or by an internal module (-1012)."""

    kind = "rejected by risk checks"


class RateLimited(OrderlyError):
    """Too many requests (-1003, HTTP 429); the request was not processed."""

    kind = "rate limited"
    retryable = True


class ServerError(OrderlyError):
    """The exchange failed (5xx, -1000, -1011) while answering a read."""

    kind = "server error"
    retryable = True


class Unavailable(OrderlyError):
    """The request never reached the exchange; sending it again is safe."""

    kind = "unavailable"
    retryable = True


class OutcomeUnknown(OrderlyError):
    """The request was sent and may have been processed; look the result up before retrying."""

    kind = "outcome unknown"


class ProtocolError(OrderlyError):
    """The response could not be parsed or lacks a required field."""

    kind = "malformed response"


class UsageError(RunnerError, ValueError):
    """The caller asked for something the API cannot do; detected before anything is sent."""


_AUTH_CODES = frozenset({-1001, -1002})
_INVALID_CODES = frozenset({-1004, -1005, -1008, -1102, -1103, -1104, -1105})
_RISK_CODES = frozenset({-1009, -1012, -1101, -1201, -1202})
_SERVER_CODES = frozenset({-1000, -1011})


def classify(
    method: str,
    path: str,
    http_status: int | None,
    code: int | None,
    message: str,
    *,
    is_write: bool,
    retry_after: float | None = None,
) -> OrderlyError:
    """Map an error response to its kind, by Orderly's code first and the HTTP status second.

    A write that failed on the server side (5xx, -1000, -1011) may still have been carried out
    (§3.3 says -1011 is an internal network error *while placing or cancelling*), so it becomes
    `OutcomeUnknown`, never a plain retryable `ServerError`.
    """
    cls: type[OrderlyError]
    if code == -1003 or http_status == 429:
        cls = RateLimited
    elif code in _AUTH_CODES or http_status in (401, 403):
        cls = AuthError
    elif code == -1006:
        cls = NotFound
    elif code == -1007 or http_status == 409:
        cls = Duplicate
    elif code in _RISK_CODES:
        cls = RiskRejected
    elif code in _INVALID_CODES:
        cls = InvalidRequest
    elif code in _SERVER_CODES or (http_status is not None and http_status >= 500):
        cls = OutcomeUnknown if is_write else ServerError
    else:
        # A bare 404 (no Orderly code) is a wrong route or a proxy, not "no such order": only
        # -1006 may ever be read as "already gone".
        cls = Rejected
    return cls(method, path, http_status, code, message, retry_after=retry_after)

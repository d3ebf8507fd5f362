"""When to send a request again, and how long to wait first.

The decision follows the error's kind (runner.orderly.errors): a read is retried on anything
transient; a write only when it is known not to have been processed (never reached the server,
or refused with 429) or when sending it twice cannot do harm (`idempotent`, e.g. a cancel, whose
second attempt at worst finds the order gone). This module never decides to resend a write whose
outcome is unknown: create_order resolves that by looking its client_order_id up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from runner.orderly.errors import (
    OrderlyError,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    Unavailable,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    `max_attempts` counts every send, the first included. A server that asks for a wait
    longer than `max_retry_after` seconds is not waited for: the RateLimited error is raised.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 65.0

    def should_retry(
        self, error: OrderlyError, *, attempt: int, is_read: bool, idempotent: bool
    ) -> bool:
        """Whether to send again after `error` on send number `attempt` (from 1)."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, RateLimited):
            return error.retry_after is None or error.retry_after <= self.max_retry_after
        if isinstance(error, Unavailable):
            return True
        if isinstance(error, ServerError | OutcomeUnknown):
            return is_read or idempotent
        return False

    def delay(
        self,
        error: OrderlyError,
        attempt: int,
        *,
        window: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait before send number `attempt + 1`.

        A server's Retry-After wins. A 429 without one waits for the route's budget window when
        it is known (`window`), since a shorter backoff would only be refused again.
        """
        if isinstance(error, RateLimited):
            if error.retry_after is not None:
                return max(0.0, error.retry_after)
            if window is not None:
                return window
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(0.0, cap)
